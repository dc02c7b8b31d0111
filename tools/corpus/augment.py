"""Make clean TTS audio sound recorded: speed, EQ, room, noise, channel, level.

augment(x, sr, rng, babble) -> float32 samples at 16 kHz. Every random choice
comes from rng, so a seeded Generator gives the same output every time.
Probabilities: reverb 60 %, additive noise 85 % (SNR 5-30 dB), microphone
colouration 50 %, telephone band 300-3400 Hz 10 %, sample-rate round trip via
8 / 22.05 / 44.1 kHz 12 %, level -38..-14 dBFS RMS.
"""
from fractions import Fraction

import numpy as np
from scipy import signal

SR = 16000


def resample(x, sr_in, sr_out):
    """Polyphase resampling; rates in Hz (rounded to the nearest 10 Hz to keep ratios small)."""
    if sr_in == sr_out:
        return x
    ratio = Fraction(int(round(sr_out / 10)), int(round(sr_in / 10)))
    return signal.resample_poly(x, ratio.numerator, ratio.denominator).astype(np.float32)


def coloured_noise(n, kind, rng):
    """n samples of unit-RMS white, pink (1/f) or brown (1/f^2) noise."""
    w = rng.standard_normal(n)
    if kind != "white":
        spec = np.fft.rfft(w)
        f = np.arange(len(spec), dtype=np.float64)
        f[0] = 1.0
        spec /= np.sqrt(f) if kind == "pink" else f
        w = np.fft.irfft(spec, n)
    return (w / (np.sqrt(np.mean(w ** 2)) + 1e-12)).astype(np.float32)


def babble_noise(n, bank, rng):
    """n samples of unit-RMS babble: 3-7 talkers from bank (list of 16 kHz arrays) summed."""
    out = np.zeros(n, np.float32)
    for _ in range(int(rng.integers(3, 8))):
        src = bank[int(rng.integers(len(bank)))]
        reps = int(np.ceil(n / len(src))) + 1
        loop = np.tile(src, reps)
        start = int(rng.integers(len(src)))
        out += loop[start:start + n] * rng.uniform(0.5, 1.0)
    return out / (np.sqrt(np.mean(out ** 2)) + 1e-12)


def room_impulse(rng, rt60):
    """Synthetic room impulse response at 16 kHz: direct path, sparse early
    reflections, exponentially decaying noise tail (60 dB down after rt60 s)."""
    n = int(SR * rt60 * 1.1) + 1
    t = np.arange(n) / SR
    decay = np.exp(-6.9078 * t / rt60)  # ln(1000) = 6.9078: amplitude -60 dB at rt60
    tail = rng.standard_normal(n) * decay
    # rooms absorb highs faster: a gentle low-pass on the tail
    b, a = signal.butter(1, rng.uniform(2500, 7000) / (SR / 2))
    tail = signal.lfilter(b, a, tail)
    onset = int(rng.uniform(0.002, 0.01) * SR)  # direct-to-first-reflection gap
    tail[:onset] = 0.0
    for _ in range(int(rng.integers(3, 9))):
        k = int(rng.uniform(0.003, 0.05) * SR)
        if k < n:
            tail[k] += rng.uniform(-0.6, 0.6)
    drr_db = rng.uniform(-3, 12)  # direct-to-reverberant ratio
    tail *= 10 ** (-drr_db / 20) / (np.sqrt(np.sum(tail ** 2)) + 1e-12)
    tail[0] = 1.0
    return tail.astype(np.float32)


def mic_colouration(x, rng):
    """Random microphone/loudspeaker response: high-pass, 1-3 peaking bands, tilt."""
    fc = rng.uniform(60, 250)
    b, a = signal.butter(2, fc / (SR / 2), "high")
    x = signal.lfilter(b, a, x)
    for _ in range(int(rng.integers(1, 4))):
        f0 = rng.uniform(200, 6000)
        gain = rng.uniform(-8, 8)
        q = rng.uniform(0.5, 3)
        A = 10 ** (gain / 40)
        w0 = 2 * np.pi * f0 / SR
        alpha = np.sin(w0) / (2 * q)
        b = [1 + alpha * A, -2 * np.cos(w0), 1 - alpha * A]
        a = [1 + alpha / A, -2 * np.cos(w0), 1 - alpha / A]
        x = signal.lfilter(b, a, x)
    if rng.random() < 0.5:
        b, a = signal.butter(2, rng.uniform(3500, 7500) / (SR / 2))
        x = signal.lfilter(b, a, x)
    return x.astype(np.float32)


def telephone(x, rng):
    """300-3400 Hz channel with an 8 kHz round trip and mild mu-law-like compression."""
    y = resample(x, SR, 8000)
    b, a = signal.butter(4, [300 / 4000, 3400 / 4000], "band")
    y = signal.lfilter(b, a, y)
    peak = np.max(np.abs(y)) + 1e-9
    mu = 255.0
    y = np.sign(y) * np.log1p(mu * np.abs(y / peak)) / np.log1p(mu)
    y = np.round(y * 127) / 127  # 8-bit companded
    y = np.sign(y) * ((1 + mu) ** np.abs(y) - 1) / mu * peak
    return resample(y.astype(np.float32), 8000, SR)


def to_level(x, level_db):
    """x scaled to an RMS of level_db dBFS, then down to a peak of at most 0.98; float32."""
    x = x * (10 ** (level_db / 20) / (np.sqrt(np.mean(x ** 2)) + 1e-9))
    peak = np.max(np.abs(x)) if len(x) else 0.0
    if peak > 0.98:
        x = x * (0.98 / peak)
    return x.astype(np.float32)


def augment(x, sr, rng, babble):
    """Clean TTS samples at sr Hz -> augmented float32 samples at 16 kHz.

    Speed perturbation (0.9-1.1, tempo and pitch together, as in Kaldi's
    speed perturbation) is done by declaring the audio to be at sr*factor.
    """
    x = np.asarray(x, np.float32)
    x = x - np.mean(x) if len(x) else x
    speed = rng.uniform(0.9, 1.1) if rng.random() < 0.8 else 1.0
    x = resample(x, int(round(sr * speed / 10)) * 10, SR)
    # leading/trailing silence that noise will fill
    pad = [int(rng.uniform(0.05, 0.5) * SR), int(rng.uniform(0.05, 0.5) * SR)]
    x = np.concatenate([np.zeros(pad[0], np.float32), x, np.zeros(pad[1], np.float32)])
    if rng.random() < 0.12:  # sample-rate round trip
        mid = int(rng.choice([8000, 22050, 44100]))
        x = resample(resample(x, SR, mid), mid, SR)
    if rng.random() < 0.5:
        x = mic_colouration(x, rng)
    if rng.random() < 0.6:
        rir = room_impulse(rng, rng.uniform(0.1, 0.7))
        x = signal.fftconvolve(x, rir)[:len(x) + len(rir) // 3].astype(np.float32)
    speech_rms = np.sqrt(np.mean(x ** 2)) + 1e-9
    if rng.random() < 0.85:
        kind = rng.choice(["white", "pink", "brown", "babble", "babble"])
        n = len(x)
        noise = babble_noise(n, babble, rng) if kind == "babble" else coloured_noise(n, kind, rng)
        snr = rng.uniform(5, 30)
        x = x + noise * speech_rms * 10 ** (-snr / 20)
    if rng.random() < 0.10:
        x = telephone(x, rng)
    return to_level(x, rng.uniform(-38, -14))


def augment_recorded(x, sr, rng):
    """Recorded speech -> a perturbed copy, float32 samples at 16 kHz.

    Milder than augment(): the recording already has a room, a microphone and
    noise of its own, so each effect is rarer and weaker, and there is no
    babble bank. Speed 0.9-1.1 (80 %), microphone colouration (40 %), room
    reverberation RT60 0.1-0.4 s (25 %), white/pink/brown noise at 10-30 dB
    SNR (40 %), telephone band (5 %), level -35..-15 dBFS RMS.
    """
    x = np.asarray(x, np.float32)
    x = x - np.mean(x) if len(x) else x
    speed = rng.uniform(0.9, 1.1) if rng.random() < 0.8 else 1.0
    x = resample(x, int(round(sr * speed / 10)) * 10, SR)
    if rng.random() < 0.4:
        x = mic_colouration(x, rng)
    if rng.random() < 0.25:
        rir = room_impulse(rng, rng.uniform(0.1, 0.4))
        x = signal.fftconvolve(x, rir)[:len(x) + len(rir) // 3].astype(np.float32)
    speech_rms = np.sqrt(np.mean(x ** 2)) + 1e-9
    if rng.random() < 0.4:
        noise = coloured_noise(len(x), rng.choice(["white", "pink", "brown"]), rng)
        x = x + noise * speech_rms * 10 ** (-rng.uniform(10, 30) / 20)
    if rng.random() < 0.05:
        x = telephone(x, rng)
    return to_level(x, rng.uniform(-35, -15))
