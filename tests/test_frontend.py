"""The C frontend (native/src/frontend.c, asr.features) against its numpy
specification (asr.reference.logmel/FeatureStream, asr.audio.Resampler).

Tolerances, asserted below and measured on x86-64 when written:
  - log-mel frames: max |C - reference| <= LOG_TOL = 1e-4 (natural-log
    units) on every frame, with or without the channel normalization
    (whose output is compared with the same bound). Measured: 0 on every
    signal here (the C code computes the reference's operations; the FFT's
    order differs from numpy's, which moves the double energy by ~1e-16
    relative, almost never enough to change the float32 log).
  - resampler: max |C - asr.audio.Resampler| <= RESAMPLE_TOL = 1e-6
    (float32 samples in [-1, 1]); measured 0.
  - chunking: exact. Any split of the input (empty and one-sample chunks
    included), at any input rate, gives the frames of one call bit for bit.
"""
import glob
import os

import numpy as np
import pytest
import soundfile as sf

from asr import reference
from asr._native import check, ffi, lib, new_status
from asr.audio import Resampler
from asr.errors import (AudioError, NativeArgumentError, NativeShapeError,
                        UnsupportedKernelError)
from asr.features import FeatureConfig, FeatureStream, Frontend, logmel, num_frames

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOG_TOL = 1e-4
RESAMPLE_TOL = 1e-6
RATES = [8000, 11025, 16000, 22050, 44100, 48000]
CV_TRAIN = "/work/shared/speech/cv-train/audio"


def cmn_config(seed=0):
    prior = np.random.default_rng(seed).uniform(-8, 2, 40)
    return FeatureConfig(cmn_frames=50, cmn_prior_frames=20,
                         cmn_prior=tuple(float(v) for v in prior))


CONFIGS = {"plain": FeatureConfig(), "cmn": cmn_config(),
           "rect-80": FeatureConfig(num_filters=80, window="rect", high_hz=8000.0, low_hz=0.0),
           # high_hz 0: up to rate/2, python_speech_features' default; a 1024-point FFT
           "top-1024": FeatureConfig(high_hz=0.0, nfft=1024, win_s=0.05, hop_s=0.0125, num_filters=64)}


def synthetic(kind, n=24000, rate=16000, seed=0):
    """float32 test signals in [-1, 1]: no speech synthesis needed."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    if kind == "sine":
        x = 0.5 * np.sin(2 * np.pi * 440.0 * t) + 0.2 * np.sin(2 * np.pi * 3100.0 * t)
    elif kind == "noise":
        x = 0.1 * rng.standard_normal(n)
    elif kind == "chirp":
        x = 0.7 * np.sin(2 * np.pi * (50.0 * t + 0.5 * (rate / 2.5 - 50.0) * t * t / t[-1]))
    elif kind == "silence":
        x = np.zeros(n)
    elif kind == "clipped":            # a loud sine clipped at full scale
        x = np.clip(3.0 * np.sin(2 * np.pi * 220.0 * t), -1.0, 1.0)
    elif kind == "impulses":
        x = np.zeros(n)
        x[::997] = 1.0
    else:
        raise ValueError(kind)
    return x.astype(np.float32)


def reference_features(x, cfg, rate=None):
    """The numpy pipeline: Resampler (when rate differs) then reference.logmel."""
    x = np.asarray(x, dtype=np.float32)
    if rate is not None and rate != cfg.sample_rate:
        x = Resampler(rate, cfg.sample_rate).process(x, final=True)
    return reference.logmel(x, cfg)


def assert_close(c, ref):
    assert c.shape == ref.shape and c.dtype == np.float32
    assert np.abs(c.astype(np.float64) - ref).max() <= LOG_TOL


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("kind", ["sine", "noise", "chirp", "silence", "clipped", "impulses"])
def test_synthetic_matches_reference(kind, name):
    cfg = CONFIGS[name]
    x = synthetic(kind)
    assert_close(logmel(x, cfg), reference_features(x, cfg))


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
@pytest.mark.parametrize("kind", ["chirp", "noise"])
def test_resampled_input_matches_reference(kind, rate):
    cfg = CONFIGS["cmn"]
    x = synthetic(kind, n=rate * 3 // 2, rate=rate, seed=rate)
    assert_close(logmel(x, cfg, sample_rate=rate), reference_features(x, cfg, rate))


def real_files():
    files = sorted(glob.glob(os.path.join(ROOT, "models", "samples", "*.wav")))
    return files + sorted(glob.glob(os.path.join(CV_TRAIN, "*")))[:4]


@pytest.mark.parametrize("path", real_files(), ids=os.path.basename)
def test_real_audio_matches_reference(path):
    x, rate = sf.read(path, dtype="float32")
    for cfg in (CONFIGS["plain"], CONFIGS["cmn"]):
        assert_close(logmel(x, cfg, sample_rate=rate), reference_features(x, cfg, rate))
    # the same speech as if recorded at 44.1 kHz goes through both resamplers
    up = Resampler(rate, 44100).process(x, final=True)
    assert_close(logmel(up, CONFIGS["plain"], sample_rate=44100),
                 reference_features(up, CONFIGS["plain"], 44100))


def test_int16_is_float_over_32768():
    pcm = (np.random.default_rng(1).standard_normal(9000) * 5000).clip(-32768, 32767).astype(np.int16)
    for rate in (16000, 8000):
        a = logmel(pcm, CONFIGS["cmn"], sample_rate=rate)
        b = logmel(pcm.astype(np.float32) / 32768.0, CONFIGS["cmn"], sample_rate=rate)
        assert np.array_equal(a, b)


def streamed(x, cfg, rate, seed, max_chunk):
    """Frames of x fed in random chunks of 0..max_chunk samples (0: empty)."""
    rng = np.random.default_rng(seed)
    fs, parts, i = FeatureStream(cfg, rate), [], 0
    while i < len(x):
        k = int(rng.integers(0, max_chunk + 1))
        parts.append(fs.accept(x[i:i + k]))
        i += k
    parts.append(fs.finish())
    return np.concatenate(parts)


@pytest.mark.parametrize("rate", RATES + [44101])
def test_any_chunking_gives_identical_frames(rate):
    x = synthetic("noise", n=rate, rate=rate, seed=7) + synthetic("chirp", n=rate, rate=rate)
    for cfg in (CONFIGS["plain"], CONFIGS["cmn"]):
        whole = logmel(x, cfg, sample_rate=rate)
        for seed, max_chunk in ((1, 3), (2, 160), (3, 4001)):
            assert np.array_equal(streamed(x, cfg, rate, seed, max_chunk), whole)
    pcm = (x * 20000).astype(np.int16)
    whole = logmel(pcm, CONFIGS["cmn"], sample_rate=rate)
    assert np.array_equal(streamed(pcm, CONFIGS["cmn"], rate, 4, 555), whole)


def test_one_sample_chunks():
    x = synthetic("chirp", n=3000, rate=8000)
    fs = FeatureStream(CONFIGS["cmn"], 8000)
    parts = [fs.accept(x[i:i + 1]) for i in range(len(x))] + [fs.accept(x[:0]), fs.finish()]
    assert np.array_equal(np.concatenate(parts), logmel(x, CONFIGS["cmn"], sample_rate=8000))


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("n", [0, 1, 5, 399, 400, 401, 561, 12345])
def test_frame_count_is_python_speech_features_rule(rate, n):
    """Frames = num_frames(samples after resampling), counted in advance."""
    cfg = FeatureConfig()
    x = synthetic("noise", n=max(n, 1))[:n]
    fs = FeatureStream(cfg, rate)
    frames = np.concatenate([fs.accept(x), fs.finish()])
    resampled = n if rate == cfg.sample_rate else -(-n * cfg.sample_rate // rate)
    assert fs.samples_out == resampled
    assert frames.shape == (num_frames(resampled, cfg), cfg.num_filters)


def c_resample(src, dst, x):
    x = np.ascontiguousarray(x, dtype=np.float32)
    n = ffi.new("size_t *")
    st = new_status()
    xp = ffi.cast("float *", ffi.from_buffer(x))
    assert lib.asr_resample_f32(src, dst, xp, len(x), ffi.NULL, 0, n, st) in (lib.ASR_OK, lib.ASR_E_SHAPE)
    out = np.empty(n[0], dtype=np.float32)
    check(lib.asr_resample_f32(src, dst, xp, len(x), ffi.cast("float *", ffi.from_buffer(out)),
                               len(out), n, st), st)
    return out[:n[0]]


@pytest.mark.parametrize("src,dst", [(8000, 16000), (11025, 16000), (22050, 16000), (44100, 16000),
                                     (48000, 16000), (44101, 16000), (16000, 48000), (16000, 8000)])
def test_resampler_matches_python(src, dst):
    x = synthetic("noise", n=src // 2 + 17, rate=src) + synthetic("chirp", n=src // 2 + 17, rate=src)
    c = c_resample(src, dst, x)
    py = Resampler(src, dst).process(x, final=True)
    assert c.shape == py.shape
    assert np.abs(c - py).max() <= RESAMPLE_TOL


def test_filterbank_is_python_speech_features():
    import python_speech_features as psf
    for cfg in CONFIGS.values():
        fe = Frontend.get(cfg)
        bins = cfg.nfft // 2 + 1
        out = np.empty(cfg.num_filters * bins)
        st = new_status()
        check(lib.asr_frontend_filterbank(fe._fe, ffi.cast("double *", ffi.from_buffer(out)),
                                          len(out), st), st)
        want = psf.get_filterbanks(cfg.num_filters, cfg.nfft, cfg.sample_rate, cfg.low_hz, cfg.high_hz)
        assert np.array_equal(out.reshape(cfg.num_filters, bins), want)


# ------------------------------------------------------------- bad input

@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_are_refused_and_the_stream_goes_on(bad):
    x = synthetic("noise", n=4000)
    fs = FeatureStream(CONFIGS["cmn"])
    first = fs.accept(x[:2000])
    y = x[2000:].copy()
    y[123] = bad
    with pytest.raises(NativeArgumentError, match="sample 123 is (NaN|infinite)"):
        fs.accept(y)
    rest = [fs.accept(x[2000:]), fs.finish()]
    assert np.array_equal(np.concatenate([first] + rest), logmel(x, CONFIGS["cmn"]))


@pytest.mark.parametrize("rate", [0, -16000, 10 ** 7])
def test_bad_rates_are_refused(rate):
    with pytest.raises(AudioError, match="sample rate"):
        FeatureStream(FeatureConfig(), rate)


def test_calls_after_finish_are_refused():
    fs = FeatureStream()
    fs.finish()
    with pytest.raises(ValueError, match="finished"):
        fs.accept(np.zeros(10, np.float32))
    with pytest.raises(ValueError, match="finished"):
        fs.finish()
    # and in C, whatever the binding does
    st = new_status()
    n = ffi.new("size_t *")
    out = np.empty((1, 40), np.float32)
    assert lib.asr_fstream_finish(fs._s, ffi.cast("float *", ffi.from_buffer(out)), 1, n, st) \
        == lib.ASR_E_ARG and b"finished" in ffi.string(st.message)


@pytest.mark.parametrize("cfg", [FeatureConfig(win_s=-0.025), FeatureConfig(sample_rate=-1),
                                 FeatureConfig(nfft=2 ** 40), FeatureConfig(nfft=1000),
                                 FeatureConfig(hop_s=0.03), FeatureConfig(window="hann")])
def test_bad_configs_are_clear_errors(cfg):
    """ValueError (or AudioError for the rate, UnsupportedKernelError for an
    nfft the radix-2 FFT cannot do), never an OverflowError or a crash."""
    with pytest.raises((ValueError, AudioError, UnsupportedKernelError)):
        FeatureStream(cfg)


def desc(**kw):
    d = ffi.new("asr_frontend_desc *")
    d.mode, d.sample_rate, d.win_len, d.hop_len, d.nfft = lib.ASR_FE_FLOAT, 16000, 400, 160, 512
    d.num_filters, d.low_hz, d.high_hz, d.preemph, d.log_floor = 40, 20.0, 7600.0, 0.97, 1e-10
    d.window = lib.ASR_FE_WINDOW_HAMMING
    for k, v in kw.items():
        setattr(d, k, v)
    return d


@pytest.mark.parametrize("kw,err,match", [
    ({"mode": lib.ASR_FE_INT}, NativeArgumentError, "out_dtype"),   # no output type given
    ({"mode": 7}, NativeArgumentError, "mode"),
    ({"nfft": 500}, UnsupportedKernelError, "power"),
    ({"nfft": 1 << 20}, UnsupportedKernelError, "power"),
    ({"win_len": 600}, NativeArgumentError, "win_len"),
    ({"win_len": 0}, NativeArgumentError, "win_len"),
    ({"hop_len": 401}, NativeArgumentError, "hop_len"),
    ({"hop_len": 0}, NativeArgumentError, "hop_len"),
    ({"sample_rate": 0}, NativeArgumentError, "sample_rate"),
    ({"num_filters": 0}, NativeArgumentError, "num_filters"),
    ({"num_filters": 10 ** 6}, NativeArgumentError, "num_filters"),
    ({"high_hz": 9000.0}, NativeArgumentError, "sample_rate/2"),
    ({"low_hz": float("nan")}, NativeArgumentError, "sample_rate/2"),
    ({"low_hz": 8000.0}, NativeArgumentError, "sample_rate/2"),
    ({"low_hz": 8000.0, "high_hz": 0.0}, NativeArgumentError, "sample_rate/2"),
    ({"high_hz": -1.0}, NativeArgumentError, "sample_rate/2"),
    ({"preemph": float("inf")}, NativeArgumentError, "preemph"),
    ({"log_floor": 0.0}, NativeArgumentError, "log_floor"),
    ({"window": 9}, NativeArgumentError, "window"),
    ({"cmn_frames": 100}, NativeArgumentError, "cmn_prior"),
])
def test_bad_descriptions_are_refused(kw, err, match):
    out = ffi.new("asr_frontend **")
    st = new_status()
    with pytest.raises(err, match=match):
        check(lib.asr_frontend_create(desc(**kw), out, st), st)
    assert out[0] == ffi.NULL


def make_stream(rate=16000):
    fe = ffi.new("asr_frontend **")
    st = new_status()
    check(lib.asr_frontend_create(desc(), fe, st), st)
    fe = ffi.gc(fe[0], lib.asr_frontend_free)
    s = ffi.new("asr_fstream **")
    check(lib.asr_fstream_create(fe, rate, s, st), st)
    return fe, ffi.gc(s[0], lib.asr_fstream_free)


def test_null_pointers_and_absurd_sizes_are_refused():
    st = new_status()
    n = ffi.new("size_t *")
    s_out = ffi.new("asr_fstream **")
    fe, s = make_stream(8000)
    assert lib.asr_frontend_create(ffi.NULL, ffi.new("asr_frontend **"), st) == lib.ASR_E_ARG
    assert lib.asr_frontend_create(desc(), ffi.NULL, st) == lib.ASR_E_ARG
    assert lib.asr_fstream_create(ffi.NULL, 16000, s_out, st) == lib.ASR_E_ARG
    assert lib.asr_fstream_create(fe, 0, s_out, st) == lib.ASR_E_ARG
    assert lib.asr_fstream_create(fe, lib.ASR_FE_MAX_RATE + 1, s_out, st) == lib.ASR_E_ARG
    assert lib.asr_fstream_pending(ffi.NULL, 0, 0, n, st) == lib.ASR_E_ARG
    assert lib.asr_fstream_pending(s, 0, 0, ffi.NULL, st) == lib.ASR_E_ARG
    assert lib.asr_fstream_pending(s, lib.ASR_FE_MAX_CHUNK + 1, 0, n, st) == lib.ASR_E_ARG
    assert lib.asr_fstream_pending(s, 2 ** 63, 1, n, st) == lib.ASR_E_ARG
    assert lib.asr_fstream_accept_f32(s, ffi.NULL, 10, ffi.NULL, 0, n, st) == lib.ASR_E_ARG
    assert lib.asr_fstream_accept_s16(s, ffi.NULL, 10, ffi.NULL, 0, n, st) == lib.ASR_E_ARG
    assert lib.asr_fstream_accept_f32(s, ffi.NULL, 0, ffi.NULL, 0, ffi.NULL, st) == lib.ASR_E_ARG
    assert lib.asr_fstream_accept_f32(ffi.NULL, ffi.NULL, 0, ffi.NULL, 0, n, st) == lib.ASR_E_ARG
    x = np.zeros(2 ** 20, np.float32)
    xp = ffi.cast("float *", ffi.from_buffer(x))
    # frames are ready but there is no room: refused, nothing consumed
    assert lib.asr_fstream_accept_f32(s, xp, len(x), ffi.NULL, 0, n, st) == lib.ASR_E_SHAPE
    assert b"asr_fstream_pending" in ffi.string(st.message)
    assert lib.asr_fstream_accept_f32(s, xp, len(x), ffi.NULL, 10 ** 6, n, st) == lib.ASR_E_ARG
    assert lib.asr_fstream_accept_f32(s, xp, lib.ASR_FE_MAX_CHUNK + 1, ffi.NULL, 0, n, st) \
        == lib.ASR_E_ARG
    check(lib.asr_fstream_pending(s, 0, 1, n, st), st)
    assert n[0] == 0                        # nothing was consumed by the refused calls
    check(lib.asr_fstream_finish(s, ffi.NULL, 0, n, st), st)
    assert lib.asr_fstream_accept_f32(s, xp, 1, ffi.NULL, 0, n, st) == lib.ASR_E_ARG
    assert lib.asr_frontend_filterbank(fe, ffi.NULL, 0, st) == lib.ASR_E_ARG
    lib.asr_fstream_free(ffi.NULL)
    lib.asr_frontend_free(ffi.NULL)


def test_too_small_output_is_refused_without_consuming():
    x = synthetic("noise", n=8000)
    fs = FeatureStream()
    st = new_status()
    n = ffi.new("size_t *")
    out = np.empty((100, 40), np.float32)
    check(lib.asr_fstream_pending(fs._s, len(x), 0, n, st), st)
    need = n[0]
    assert need == 1 + (8000 - 400) // 160
    with pytest.raises(NativeShapeError, match="room for %d" % (need - 1)):
        check(lib.asr_fstream_accept_f32(fs._s, ffi.cast("float *", ffi.from_buffer(x)), len(x),
                                         ffi.cast("float *", ffi.from_buffer(out)), need - 1, n, st), st)
    assert np.array_equal(np.concatenate([fs.accept(x), fs.finish()]), logmel(x))


def test_memory_is_bounded_for_long_streams():
    """An hour of audio in one-second chunks: the stream's state does not
    grow (it holds a window and the filter span), so this only takes time."""
    fs = FeatureStream(FeatureConfig(), 8000)
    x = synthetic("noise", n=8000, rate=8000)
    total = sum(len(fs.accept(x)) for _ in range(600))   # 10 minutes
    total += len(fs.finish())
    assert total == num_frames(600 * 16000, FeatureConfig())
