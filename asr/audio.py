"""Audio input: read any file soundfile understands, mix down, resample.

Samples are float32 in [-1, 1] unless stated otherwise; rates are in Hz.
"""
import io
import os
from math import gcd

import numpy as np

from .errors import AudioError


def read_audio(source, sample_rate=16000):
    """Read a file path, a file object or raw bytes and return mono float32
    samples at ``sample_rate`` Hz.

    Any format and rate soundfile reads is accepted; several channels are
    averaged; the rate is converted with :class:`Resampler`. Raises
    :class:`AudioError` for unreadable, empty or non-finite audio.
    """
    import soundfile as sf
    name = source if isinstance(source, str) else getattr(source, "name", "<stream>")
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    try:
        data, rate = sf.read(source, dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises several types (LibsndfileError, RuntimeError)
        raise AudioError("%s: cannot read audio: %s" % (name, why(source, exc))) from None
    if data.shape[0] == 0:
        raise AudioError("%s: the file holds no samples" % name)
    return prepare(data, rate, sample_rate, name=name)


def why(source, exc):
    """What went wrong opening ``source``: libsndfile says only "System
    error" for a path it cannot open, so name the cause for paths."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.exists(path):
            return "no such file"
        if os.path.isdir(path):
            return "it is a directory"
        if not os.access(path, os.R_OK):
            return "permission denied"
    return str(exc)


def open_audio(source):
    """Open a path, file object or bytes for block reading; returns
    ``(soundfile.SoundFile, name)`` or raises :class:`AudioError`."""
    import soundfile as sf
    name = source if isinstance(source, str) else getattr(source, "name", "<stream>")
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    try:
        f = sf.SoundFile(source)
    except Exception as exc:
        raise AudioError("%s: cannot read audio: %s" % (name, why(source, exc))) from None
    if f.samplerate <= 0 or f.channels <= 0:
        f.close()
        raise AudioError("%s: the file declares %d Hz, %d channels" % (name, f.samplerate, f.channels))
    return f, name


def iter_audio(source, block_s=5.0):
    """Yield ``(rate, mono float32 block)`` of a file at its own rate, a few
    seconds at a time, so hours of audio never sit in memory at once.
    Raises :class:`AudioError` for unreadable, empty or non-finite audio
    (the error comes at the block where the problem is found)."""
    f, name = open_audio(source)
    with f:
        rate = f.samplerate
        n = 0
        while True:
            try:
                block = f.read(max(1, int(block_s * rate)), dtype="float32", always_2d=True)
            except Exception as exc:
                raise AudioError("%s: cannot read audio after %.2f s: %s" % (name, n / rate, exc)) from None
            if block.shape[0] == 0:
                break
            x = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
            if not np.all(np.isfinite(x)):
                raise AudioError("%s: the audio contains NaN or infinite samples (near %.2f s)"
                                 % (name, n / rate))
            n += len(x)
            yield rate, np.ascontiguousarray(x)
        if n == 0:
            raise AudioError("%s: the file holds no samples" % name)


def prepare(samples, rate, sample_rate=16000, name="<audio>"):
    """Mix ``samples`` (n or n x channels, any numeric dtype) to mono float32
    and resample from ``rate`` to ``sample_rate`` Hz."""
    x = to_float32(samples)
    if x.ndim == 2:
        x = x.mean(axis=1, dtype=np.float32) if x.shape[1] > 1 else x[:, 0]
    elif x.ndim != 1:
        raise AudioError("%s: expected samples or samples x channels, got shape %s"
                         % (name, x.shape))
    if not np.all(np.isfinite(x)):
        raise AudioError("%s: the audio contains NaN or infinite samples" % name)
    if rate != sample_rate:
        x = Resampler(rate, sample_rate).process(x, final=True)
    return np.ascontiguousarray(x, dtype=np.float32)


def to_float32(samples):
    """Scale integer PCM to [-1, 1); pass floats through as float32."""
    a = np.asarray(samples)
    if a.dtype.kind == "f":
        return a.astype(np.float32, copy=False)
    if a.dtype == np.int16:
        return a.astype(np.float32) / 32768.0
    if a.dtype == np.int32:
        return (a.astype(np.float64) / 2147483648.0).astype(np.float32)
    if a.dtype == np.uint8:
        return (a.astype(np.float32) - 128.0) / 128.0
    if a.dtype == np.int8:
        return a.astype(np.float32) / 128.0
    raise AudioError("unsupported sample type %s" % a.dtype)


class Resampler:
    """Rational-ratio resampler (windowed-sinc polyphase FIR) that can run on
    chunks: feeding a signal in any split gives exactly the samples of one
    call on the whole signal.

    Output sample m sits at input time m * src / dst (in input samples); it
    is a dot product of ``taps`` input samples around that time with the
    filter phase for its fractional position. The filter is a Kaiser-windowed
    sinc with cut-off at 0.95 of the lower Nyquist frequency.
    """

    def __init__(self, src_rate, dst_rate, half_width=16):
        if src_rate <= 0 or dst_rate <= 0:
            raise AudioError("sample rates must be positive, got %r -> %r" % (src_rate, dst_rate))
        g = gcd(int(src_rate), int(dst_rate))
        self.up = int(dst_rate) // g
        self.down = int(src_rate) // g
        self.half = half_width * max(1, self.down // self.up) if self.down > self.up else half_width
        self.filters = self._design()
        self.buf = np.zeros(self.half, dtype=np.float64)  # left history: zeros before t=0
        self.offset = -self.half      # input index of buf[0]
        self.next_out = 0             # index of the next output sample

    def _design(self):
        """Filter taps for every output phase: array (up, 2*half)."""
        cutoff = 0.95 * min(1.0, self.up / self.down)   # in units of the input Nyquist
        k = np.arange(-self.half + 1, self.half + 1)     # tap offsets relative to floor(t)
        phases = np.arange(self.up) / self.up            # fractional positions
        d = phases[:, None] - k[None, :]                 # distance from tap to t
        window = np.kaiser(2 * self.half + 1, 8.0)
        w = np.interp(d, np.arange(-self.half, self.half + 1), window, left=0.0, right=0.0)
        return cutoff * np.sinc(cutoff * d) * w

    def process(self, x, final=False):
        """Resample the next chunk ``x`` (1-D); with ``final`` flush the end,
        padding with zeros as the whole-signal call does."""
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        buf = np.concatenate([self.buf, x])
        end = self.offset + len(buf)                     # one past the last input index
        if final:
            total_out = -(-(end * self.up) // self.down)  # ceil: outputs covering the input
            buf = np.concatenate([buf, np.zeros(self.half + 1)])
            limit = total_out
        else:
            # output m needs inputs up to floor(m*down/up) + half
            limit = max(self.next_out, ((end - 1 - self.half) * self.up) // self.down + 1)
            while limit > self.next_out and (((limit - 1) * self.down) // self.up + self.half) >= end:
                limit -= 1
        m = np.arange(self.next_out, limit)
        y = np.zeros(len(m))
        taps = np.arange(-self.half + 1, self.half + 1)[None, :] - self.offset
        for i in range(0, len(m), 4096):          # bounds the gathered temporaries
            mm = m[i:i + 4096]
            base = (mm * self.down) // self.up
            phase = (mm * self.down) % self.up
            y[i:i + 4096] = np.einsum("ij,ij->i", buf[base[:, None] + taps], self.filters[phase])
        self.next_out = limit
        if not final:
            keep_from = max(0, (limit * self.down) // self.up - self.half - self.offset)
            keep_from = min(keep_from, len(buf))
            self.buf = buf[keep_from:]
            self.offset += keep_from
        return y.astype(np.float32)
