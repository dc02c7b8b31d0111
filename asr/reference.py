"""Plain numpy specifications the C code is tested against: the feature
frontend (native/src/frontend.c) and the network forward (native/src/net.c).

Features: ``logmel``, ``FeatureStream`` and ``ChannelNorm`` compute the
log-mel frames in numpy (python_speech_features' framing, power spectrum
and filterbank, stateful pre-emphasis, the causal channel normalization);
``asr.audio.Resampler`` is the resampler's specification. tests/test_frontend.py
compares the C frontend with them. scipy and python_speech_features are
imported only when a feature function runs.

Network:

``forward_float`` runs a float model in float64; ``forward_int`` runs an
integer model with exactly the integer arithmetic of native/src/net.c
(accumulate, requantize with round-half-up, clamp, fixed-point log-softmax is
approximated here in float: tests compare it with a documented tolerance).
Both take raw (un-normalized) log-mel features, frames x num_filters.
"""
import numpy as np


def normalize_and_pad(model, feats):
    """(x - mean) * inv_std, then the model's zero padding; float64."""
    x = (np.asarray(feats, dtype=np.float64) - model.mean) * model.inv_std
    pad_l = np.zeros((model.pad_left, x.shape[1]))
    pad_r = np.zeros((model.pad_right, x.shape[1]))
    return np.concatenate([pad_l, x, pad_r])


def splice(x, layer):
    """Rows of the tap-major spliced input: (n_out, kernel*in_dim)."""
    n_out = (x.shape[0] - layer.span) // layer.stride + 1
    if n_out <= 0:
        return np.zeros((0, layer.kernel * x.shape[1]), dtype=x.dtype)
    t = np.arange(n_out)[:, None] * layer.stride + np.arange(layer.kernel)[None, :] * layer.dilation
    return x[t].reshape(n_out, -1)


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def forward_float(model, feats, trace=None):
    """Log-probabilities (n_out x labels) of a float model, in float64. With
    ``trace`` (a list), each layer's input is appended to it, and the final
    logits after the last input."""
    x = normalize_and_pad(model, feats)
    for layer in model.layers:
        if trace is not None:
            trace.append(x)
        z = splice(x, layer) @ layer.weight.astype(np.float64).T + layer.bias
        if layer.act == "relu":
            z = np.maximum(z, 0.0)
        elif layer.act == "logsoftmax":
            if trace is not None:
                trace.append(z)
            z = log_softmax(z)
        x = z
    return x


def requant(acc, bias, mult, shift, zero, lo, hi):
    """The integer epilogue of asr_requant_s64, vectorized and exact.

    Computes round_half_up((acc + bias) * mult / 2^(31 + shift)) + zero,
    clamped to [lo, hi], with the same 32-bit-halves product as quant.c so
    that no intermediate exceeds int64."""
    v = np.clip(np.asarray(acc, dtype=np.int64) + np.asarray(bias, dtype=np.int64),
                -(1 << 62), 1 << 62)
    m = np.asarray(mult, dtype=np.int64)
    total = 31 + np.asarray(shift, dtype=np.int64)
    vl = v & 0xFFFFFFFF
    vh = (v - vl) >> 32
    pl = (vl.astype(np.uint64) * m.astype(np.uint64))
    rnd = np.where(total > 0, np.left_shift(np.uint64(1), np.maximum(total - 1, 0).astype(np.uint64)),
                   np.uint64(0))
    pl = pl + rnd
    hi_part = vh * m + (pl >> np.uint64(32)).astype(np.int64)
    low = (pl & np.uint64(0xFFFFFFFF)).astype(np.int64)
    big = total >= 32
    q_big = hi_part >> np.where(big, total - 32, 0)
    up = np.where(big, 0, 32 - total)
    with np.errstate(over="ignore"):
        q_small = (hi_part << up) + (low >> np.where(big, 0, total))
    lim = np.iinfo(np.int64).max >> up
    q_small = np.where(hi_part > lim, 1 << 40, np.where(hi_part < -lim, -(1 << 40), q_small))
    q = np.where(big, q_big, q_small)
    q = np.clip(q, -(1 << 31), (1 << 31) - 1)
    return np.clip(q + zero, lo, hi)


def quantize_input(model, x):
    """Normalized, padded float features -> first-layer integer input."""
    bits = 8 if model.layers[0].dtype == "int8" else 16
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    q = np.floor(x / model.in_scale + 0.5) + model.in_zero
    return np.clip(q, lo, hi).astype(np.int64)


def int_matmul(cols, w):
    """Exact integer product through float64 BLAS: every partial sum is below
    ASR_MAX_K * 2^30 = 2^46 < 2^53, so no rounding happens."""
    return (cols.astype(np.float64) @ w.astype(np.float64).T).astype(np.int64)


def forward_int(model, feats, trace=None):
    """Log-probabilities of an integer model: integer layers computed exactly,
    the final log-softmax in float64 on the Q10 logits. With ``trace`` (a
    list), each layer's integer output is appended to it."""
    x = quantize_input(model, normalize_and_pad(model, feats))
    for layer in model.layers:
        cols = splice(x, layer)
        acc = int_matmul(cols, layer.weight)
        if layer.w_zero:
            acc = acc - layer.w_zero * cols.sum(axis=1, keepdims=True)
        if layer.act == "logsoftmax":
            logits = requant(acc, layer.bias, layer.mult, layer.shift, 0,
                             -(1 << 31), (1 << 31) - 1)
            if trace is not None:
                trace.append(logits)
            return log_softmax(logits / 1024.0)
        x = requant(acc, layer.bias, layer.mult, layer.shift, layer.out_zero,
                    layer.out_lo, layer.out_hi)
        if trace is not None:
            trace.append(x)
    raise ValueError("the last layer must be log-softmax")


# ----------------------------------------------------------------- features
#
# Times: ``win_s``/``hop_s`` in seconds, frequencies in Hz, samples are float
# in [-1, 1]; output float32 (frames x num_filters) natural-log energies.
# python_speech_features' final matrix product is replaced by a per-frame
# reduction, so a stream fed in any chunking gives bit-identical frames to one
# call on the whole signal (a BLAS product may round a row differently
# depending on how many rows it is given).


class ChannelNorm:
    """Streaming channel (cepstral-style) mean normalization of log-mel frames.

    With a = 1 - 1/cmn_frames, after frame t the decayed sum and count are
    S_t = a S_{t-1} + f_t and C_t = a C_{t-1} + 1, starting from
    S = cmn_prior_frames * prior and C = cmn_prior_frames; the output frame
    is f_t - S_t / C_t + prior. Sums are float64 and the frames are visited
    in order one at a time, so any chunking gives identical bits. (The C
    frontend runs the same recursion, in the same order.)
    """

    def __init__(self, cfg):
        cfg.check()
        self.decay = 1.0 - 1.0 / cfg.cmn_frames
        self.prior = np.asarray(cfg.cmn_prior, dtype=np.float64)
        # [S | C] of the last frame; the filter's state is a times that.
        self.last = np.append(self.prior * cfg.cmn_prior_frames, float(cfg.cmn_prior_frames))

    def apply(self, frames):
        """(n, num_filters) log-mel frames -> normalized float32 frames; updates the state."""
        from scipy import signal
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


_BANKS = {}


def filterbank(cfg):
    """(mel filterbank matrix num_filters x (nfft/2+1), window) of a config."""
    b = _BANKS.get(cfg)
    if b is None:
        import python_speech_features as psf
        fb = psf.get_filterbanks(cfg.num_filters, cfg.nfft, cfg.sample_rate,
                                 cfg.low_hz, cfg.high_hz)
        if cfg.window == "hamming":
            win = np.hamming(cfg.win_len)
        elif cfg.window == "rect":
            win = np.ones(cfg.win_len)
        else:
            raise ValueError("unknown window %r" % cfg.window)
        b = _BANKS[cfg] = (np.ascontiguousarray(fb), win)
    return b


def frames_to_logmel(frames, cfg):
    """frames: (n, win_len) pre-emphasized samples -> (n, num_filters) float32."""
    from python_speech_features import sigproc
    fb, win = filterbank(cfg)
    pspec = sigproc.powspec(frames * win, cfg.nfft)            # (n, nfft/2+1)
    # Per-row reduction (numpy's pairwise sum on the last axis) rather than
    # pspec @ fb.T: the result of one row never depends on the other rows.
    # Blocks of 64 rows bound the temporary (64 x filters x bins doubles).
    energy = np.empty((len(pspec), fb.shape[0]))
    for i in range(0, len(pspec), 64):
        energy[i:i + 64] = np.add.reduce(pspec[i:i + 64, None, :] * fb[None, :, :], axis=-1)
    return np.log(np.maximum(energy, cfg.log_floor)).astype(np.float32)


def logmel(samples, cfg):
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

    def __init__(self, cfg):
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
        from .features import num_frames
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
        out = frames_to_logmel(self.pending[idx], self.cfg)
        if self.cmn is not None:
            out = self.cmn.apply(out)
        self.pending = self.pending[n * hop:]
        self.done += n
        return out
