"""Log-mel filterbank features, whole-utterance and incremental, computed by
the C frontend (native/include/asr_frontend.h), which also resamples the
input to the model's rate.

The computation is python_speech_features' framing, power spectrum and mel
filterbank, with its pre-emphasis made stateful; its numpy specification is
asr/reference.py (``reference.logmel``, ``reference.FeatureStream``), which
the C frontend matches to float32 rounding (tests/test_frontend.py). A
stream fed in any chunking gives bit-identical frames to one call on the
whole signal.

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
so streaming keeps its bit-identical chunking (``reference.ChannelNorm``
is its numpy specification).

Two modes (``Frontend(cfg, mode=...)``): "float" computes in double and
gives float32 log energies; "int" computes in integers only from the int16
PCM on (fixed-point resampler, block-floating-point FFT, table log,
channel normalization in Q16; native/QUANTIZATION.md section 8) and gives
either the log energies in Q16 (int32, value / 65536 nats) or, bound to an
integer :class:`asr.network.Network`, its first layer's quantized input
(int8 or int16) directly, normalization included.
"""
from dataclasses import asdict, dataclass

import numpy as np

from . import _native
from ._native import ffi, lib
from .errors import AudioError, NativeError


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


def num_frames(n_samples, cfg):
    """Frames produced for ``n_samples`` samples: python_speech_features'
    rule, one frame for anything up to one window, then one per hop with the
    last frame zero-padded."""
    if n_samples <= 0:
        return 0
    if n_samples <= cfg.win_len:
        return 1
    return 1 + int(np.ceil((n_samples - cfg.win_len) / cfg.hop_len))



_WINDOWS = {"hamming": lib.ASR_FE_WINDOW_HAMMING, "rect": lib.ASR_FE_WINDOW_RECT}


_OUT_DTYPES = {lib.ASR_S8: np.int8, lib.ASR_S16: np.int16, lib.ASR_FE_OUT_Q16: np.int32,
               lib.ASR_F32: np.float32}


class Frontend:
    """The C frontend of one FeatureConfig: window, mel filterbank and FFT
    tables. Immutable and shareable between threads; ``Frontend.get(cfg)``
    returns the one made for an equal config (and mode).

    ``mode``: "float" (float32 log energies) or "int" (integer arithmetic).
    In "int" mode, ``network`` (an integer :class:`asr.network.Network`)
    makes the frames its first layer's quantized input; without it they are
    int32 log energies in Q16. ``quant``, instead of a network, gives that
    input quantization itself: (dtype 'int8'/'int16', in_scale, in_zero,
    mean, inv_std). ``dtype`` is the numpy type of the frames."""
    _cache = {}

    def __init__(self, cfg, mode="float", network=None, quant=None):
        cfg.check()
        if cfg.window not in _WINDOWS:
            raise ValueError("unknown window %r" % cfg.window)
        if mode not in ("float", "int"):
            raise ValueError("frontend mode must be 'float' or 'int', not %r" % (mode,))
        if network is not None and mode != "int":
            raise ValueError("only the integer frontend is bound to a network")
        d = ffi.new("asr_frontend_desc *")
        d.mode = lib.ASR_FE_FLOAT if mode == "float" else lib.ASR_FE_INT
        d.out_dtype = lib.ASR_FE_OUT_Q16
        if network is not None:
            q = [ffi.new("int *"), ffi.new("double *"), ffi.new("int32_t *"),
                 ffi.new("const float **"), ffi.new("const float **")]
            st = _native.new_status()
            _native.check(lib.asr_net_input_quant(network._net, *q, st), st)
            if q[0][0] == lib.ASR_F32:
                raise ValueError("the integer frontend feeds integer networks; this one is float")
            d.out_dtype, d.in_scale, d.in_zero, d.mean, d.inv_std = (q[0][0], q[1][0], q[2][0],
                                                                    q[3][0], q[4][0])
        elif quant is not None:
            if mode != "int":
                raise ValueError("only the integer frontend quantizes")
            dtype, scale, zero, mean, inv_std = quant
            keep = [np.ascontiguousarray(mean, dtype=np.float32),
                    np.ascontiguousarray(inv_std, dtype=np.float32)]
            if dtype not in ("int8", "int16") or any(len(a) != cfg.num_filters for a in keep):
                raise ValueError("quant needs dtype int8/int16 and %d means and inv_stds"
                                 % cfg.num_filters)
            d.out_dtype = lib.ASR_S8 if dtype == "int8" else lib.ASR_S16
            d.in_scale, d.in_zero = scale, zero
            d.mean, d.inv_std = (ffi.cast("float *", ffi.from_buffer(a)) for a in keep)
        try:   # negative or huge sizes do not fit the C fields; C checks the rest
            d.sample_rate, d.win_len, d.hop_len = cfg.sample_rate, cfg.win_len, cfg.hop_len
            d.nfft, d.num_filters = cfg.nfft, cfg.num_filters
            d.cmn_frames, d.cmn_prior_frames = cfg.cmn_frames, cfg.cmn_prior_frames
        except OverflowError:
            raise ValueError("feature sizes out of range: %r" % (cfg,)) from None
        d.low_hz, d.high_hz = cfg.low_hz, cfg.high_hz or 0.0
        d.preemph, d.log_floor, d.window = cfg.preemph, cfg.log_floor, _WINDOWS[cfg.window]
        prior = np.ascontiguousarray(cfg.cmn_prior, dtype=np.float64)
        if len(prior):
            d.cmn_prior = ffi.cast("double *", ffi.from_buffer(prior))
        out = ffi.new("asr_frontend **")
        st = _native.new_status()
        _native.check(lib.asr_frontend_create(d, out, st), st)
        self._fe = ffi.gc(out[0], lib.asr_frontend_free)
        self.cfg, self.mode, self.network = cfg, mode, network
        self.dtype = np.dtype(_OUT_DTYPES[lib.ASR_F32 if mode == "float" else d.out_dtype])

    @classmethod
    def get(cls, cfg, mode="float"):
        """The shared frontend of a config and mode (not bound to a network:
        those belong to their Recognizer, and a cache would keep every
        network alive)."""
        fe = cls._cache.get((cfg, mode))
        if fe is None:
            fe = cls._cache[(cfg, mode)] = cls(cfg, mode)
        return fe


# Samples per C call: the C library's per-call limit (ASR_FE_MAX_CHUNK) is far
# above this; smaller calls only bound the output array of one call.
_PIECE = 1 << 20


class FeatureStream:
    """Incremental features: ``accept`` chunks of samples, then ``finish``.

    ``sample_rate``: the rate of the samples given (Hz; default the
    config's); other rates are resampled in C as they arrive (the filter of
    :class:`asr.audio.Resampler`). Samples are 1-D float (in [-1, 1],
    finite) or int16 PCM. Frames are float32, frames x num_filters,
    identical bit for bit whatever the chunking. The C stream holds one
    window of samples and the resampler's filter span, nothing more.
    """

    def __init__(self, cfg=FeatureConfig(), sample_rate=None, frontend=None):
        self.cfg = cfg
        self.sample_rate = int(cfg.sample_rate if sample_rate is None else sample_rate)
        if not 0 < self.sample_rate <= lib.ASR_FE_MAX_RATE:
            raise AudioError("sample rate %r Hz is outside 1..%d" % (sample_rate, lib.ASR_FE_MAX_RATE))
        self.frontend = Frontend.get(cfg) if frontend is None else frontend
        if self.frontend.cfg != cfg:
            raise ValueError("the frontend was made for another feature config")
        self._int = self.frontend.mode == "int"
        out = ffi.new("asr_fstream **")
        st = _native.new_status()
        _native.check(lib.asr_fstream_create(self.frontend._fe, self.sample_rate, out, st), st)
        self._s = ffi.gc(out[0], lib.asr_fstream_free)
        self.finished = False

    def accept(self, samples):
        """Add samples (1-D float or int16); return the frames now complete."""
        if self.finished:
            raise ValueError("the feature stream is finished")
        x = np.asarray(samples)
        if x.dtype == np.int16:
            x, fn, ctype = (np.ascontiguousarray(x.reshape(-1)),
                            lib.asr_fstream_accept_s16_q if self._int else lib.asr_fstream_accept_s16,
                            "int16_t *")
        else:
            x, fn, ctype = (np.ascontiguousarray(x.reshape(-1), dtype=np.float32),
                            lib.asr_fstream_accept_f32_q if self._int else lib.asr_fstream_accept_f32,
                            "float *")
        parts = [self._call(fn, x[i:i + _PIECE], ctype) for i in range(0, len(x), _PIECE)]
        if not parts:
            return np.zeros((0, self.cfg.num_filters), dtype=self.frontend.dtype)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def finish(self):
        """Flush the resampler and the remaining frames (zero-padding the
        last, as the whole call does) and close the stream."""
        if self.finished:
            raise ValueError("the feature stream is finished")
        self.finished = True
        return self._call(None, None, None)

    @property
    def samples_out(self):
        """Samples at the config's rate produced so far (after resampling)."""
        n = ffi.new("uint64_t *")
        st = _native.new_status()
        _native.check(lib.asr_fstream_samples(self._s, n, st), st)
        return int(n[0])

    def _call(self, fn, x, ctype):
        st = _native.new_status()
        need = ffi.new("size_t *")
        n_in = 0 if x is None else len(x)
        _native.check(lib.asr_fstream_pending(self._s, n_in, int(fn is None), need, st), st)
        out = np.empty((need[0], self.cfg.num_filters), dtype=self.frontend.dtype)
        got = ffi.new("size_t *")
        optr = ffi.cast("void *" if self._int else "float *", ffi.from_buffer(out))
        if fn is None:
            finish = lib.asr_fstream_finish_q if self._int else lib.asr_fstream_finish
            _native.check(finish(self._s, optr, need[0], got, st), st)
        else:
            xptr = ffi.cast(ctype, ffi.from_buffer(x))
            _native.check(fn(self._s, xptr, n_in, optr, need[0], got, st), st)
        if got[0] != need[0]:
            raise NativeError("internal: %d frames computed, %d announced" % (got[0], need[0]))
        return out


def logmel(samples, cfg=FeatureConfig(), sample_rate=None, frontend=None):
    """Whole-utterance features of mono samples (float or int16) at
    ``sample_rate`` Hz (default cfg.sample_rate); ``frontend``: a
    :class:`Frontend` of cfg (default: the float one)."""
    fe = FeatureStream(cfg, sample_rate, frontend)
    a = fe.accept(samples)
    b = fe.finish()
    return np.concatenate([a, b]) if len(a) else b
