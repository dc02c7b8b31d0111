"""The integer frontend (ASR_FE_INT: native/src/frontend_fixed.c, fft_fixed.c,
the Q30 resampler) and the network's quantized input (asr_stream_forward_q).

What is exact, and asserted exactly:
  - the numpy specification (asr.reference.logmel_int: the same integer
    operations on the whole signal) equals the C frames bit for bit, at
    several rates and configurations, Q16 and quantized;
  - chunking: any split of the input (empty, one-sample and odd chunks) at
    any input rate gives the frames of one call bit for bit;
  - silence: all-zero input gives the log floor, round(ln(log_floor) 2^16),
    in every value (no FFT noise, no division by zero);
  - asr_stream_forward_q on the values push_input would quantize gives
    asr_stream_forward's outputs bit for bit (padding = in_zero);
  - x86-64 = armv7 = aarch64: tests/native/test_frontend_cross.py; every
    kernel of this CPU (ref, sse41, avx2, avx512vnni) gives the same
    log-probabilities from the integer frames.

What is close, with the tolerances asserted below (measured on x86-64 when
written, in natural-log units of the log-mel energies):
  - Q16 log energies vs the float frontend: max LOG_TOL = 0.05 on every
    value and mean MEAN_TOL = 5e-4; measured max 0.025 (cv-train speech,
    a quiet band of a quiet frame) and 0.012 (speech-like noise at
    -40 dBFS), mean <= 4e-4. The error is the FFT's rounding relative to
    the frame's peak (block floating point, ~21 bits), so it shows only in
    bands 80 dB or more below the frame's loudest.
  - quantized for the int8 model: every value within 1 step of the float
    frontend's quantization, at most 1% of values off by one (measured
    0.2%); int16 model (steps of ~0.001 nats): within INT16_STEPS = 40
    steps and 1 step on average (measured <= 26 steps, mean <= 0.29).
"""
import glob
import os

import numpy as np
import pytest
import soundfile as sf

from asr import reference
from asr._native import ffi, lib, new_status
from asr.errors import AsrError, AudioError, NativeArgumentError, NativeError
from asr.features import FeatureConfig, FeatureStream, Frontend, logmel
from asr.model import Model
from asr.network import Network

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RATES = [8000, 11025, 16000, 22050, 44100, 48000]
CV_TRAIN = "/work/shared/speech/cv-train/audio"
LOG_TOL = 0.05
MEAN_TOL = 5e-4
INT16_STEPS = 40


def cmn_config():
    return FeatureConfig(cmn_frames=300, cmn_prior_frames=100,
                         cmn_prior=tuple(-10.0 + 0.25 * j for j in range(40)))


def speechlike(n, dbfs, rate=16000, seed=0):
    """int16 noise through a 300..3000 Hz band-pass, modulated at 4 Hz, at
    dbfs RMS: the spectrum and level of quiet speech without speech."""
    from scipy import signal
    rng = np.random.default_rng(seed)
    b, a = signal.butter(2, [300 / (rate / 2), 3000 / (rate / 2)], "band")
    y = signal.lfilter(b, a, rng.standard_normal(n)) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * np.arange(n) / rate))
    y *= 10 ** (dbfs / 20) * 32768 / np.sqrt(np.mean(y ** 2))
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def tone(freq, n, rate, amp):
    y = amp * 32768 * np.sin(2 * np.pi * freq * np.arange(n) / rate)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def signals():
    """(name, rate, samples): int16 unless read from a compressed file."""
    out = [("quiet-40dBFS", 16000, speechlike(32000, -40)),
           ("quiet-40dBFS-8k", 8000, speechlike(16000, -40, 8000, seed=1)),
           ("clipped", 16000, tone(440, 16000, 16000, 3.0)),
           ("tone-1k", 16000, tone(1000, 16000, 16000, 0.25)),
           ("tone-100-48k", 48000, tone(100, 48000, 48000, 0.25))]
    for p in sorted(glob.glob(os.path.join(ROOT, "models", "samples", "*.wav"))):
        x, rate = sf.read(p, dtype="int16")
        out.append((os.path.basename(p), rate, x))
    from asr.audio import read_audio
    for p in sorted(glob.glob(os.path.join(CV_TRAIN, "*")))[:3]:
        out.append((os.path.basename(p), 16000, read_audio(p, 16000)))
    return out


@pytest.fixture(scope="module")
def models():
    out = {}
    for prec in ("int8", "int16"):
        m = Model.load(os.path.join(ROOT, "models", "en-us-%s.asrm" % prec))
        out[prec] = (m, Network(m))
    return out


# ------------------------------------------------------------------ exact


def chunked(x, cfg, rate, fe, seed):
    rng = np.random.default_rng(seed)
    s = FeatureStream(cfg, rate, fe)
    parts, i = [], 0
    while i < len(x):
        n = int(rng.choice([0, 1, 2, 7, 160, 401, 3333]))
        parts.append(s.accept(x[i:i + n]))
        i += n
    parts.append(s.finish())
    return np.concatenate(parts)


@pytest.mark.parametrize("rate", RATES)
def test_any_chunking_gives_identical_frames(rate, models):
    m, net = models["int8"]
    x = speechlike(rate, -20, rate, seed=rate)
    for fe in (Frontend(cmn_config(), "int"), Frontend(m.features, "int", net)):
        whole = logmel(x, fe.cfg, rate, fe)
        assert whole.dtype == fe.dtype and len(whole) == len(logmel(x, fe.cfg, rate))
        assert np.array_equal(chunked(x, fe.cfg, rate, fe, seed=rate), whole)


def test_one_sample_chunks_and_float_input(models):
    m, net = models["int16"]
    fe = Frontend(m.features, "int", net)
    x = speechlike(3000, -30, seed=3)
    s = FeatureStream(m.features, 16000, fe)
    one = np.concatenate([s.accept(x[i:i + 1]) for i in range(len(x))] + [s.finish()])
    assert np.array_equal(one, logmel(x, m.features, 16000, fe))
    # float samples k / 32768 are converted to exactly k
    assert np.array_equal(logmel(x.astype(np.float32) / 32768, m.features, 16000, fe), one)


@pytest.mark.parametrize("rate", [16000, 8000])
def test_silence_is_the_log_floor(rate, models):
    cfg = FeatureConfig()
    floor = int(np.floor(np.log(cfg.log_floor) * 65536 + 0.5))
    q = logmel(np.zeros(rate, np.int16), cfg, rate, Frontend(cfg, "int"))
    assert q.shape == (99, 40) and np.all(q == floor)
    for prec, (m, net) in models.items():
        z = np.zeros(5000, np.int16)
        got = logmel(z, m.features, rate, Frontend(m.features, "int", net))
        want = reference.quantize_input(m, (logmel(z, m.features, rate) - m.mean) * m.inv_std)
        assert np.abs(got.astype(np.int64) - want).max() <= 1, prec


def test_forward_q_equals_forward(models):
    x, rate = sf.read(os.path.join(ROOT, "models", "samples", "goforward-1.wav"), dtype="int16")
    for prec, (m, net) in models.items():
        f = logmel(x, m.features, rate)
        q = reference.quantize_input(m, (f.astype(np.float64) - m.mean) * m.inv_std)
        q = q.astype(np.int8 if prec == "int8" else np.int16)
        want = net.stream().forward(f, finish=True)
        s = net.stream()
        got = np.concatenate([s.forward_q(q[:7]), s.forward_q(q[7:7]), s.forward_q(q[7:100]),
                              s.forward_q(q[100:], finish=True)])
        assert np.array_equal(got, want), prec


SPEC_CONFIGS = {"plain": FeatureConfig(), "cmn": cmn_config(),
                "rect-80-1024": FeatureConfig(num_filters=80, window="rect", nfft=1024, win_s=0.05,
                                              hop_s=0.0125, low_hz=0.0, high_hz=0.0, preemph=0.0),
                "cmn-prior-heavy": FeatureConfig(cmn_frames=10, cmn_prior_frames=5000,
                                                 cmn_prior=tuple(np.linspace(-15, 3, 40)))}


@pytest.mark.parametrize("name", sorted(SPEC_CONFIGS))
@pytest.mark.parametrize("rate", [16000, 8000, 44100])
def test_numpy_specification_equals_c(name, rate):
    cfg = SPEC_CONFIGS[name]
    fe = Frontend(cfg, "int")
    for x in (speechlike(rate, -30, rate, seed=7), tone(440, rate // 2, rate, 3.0),
              np.zeros(777, np.int16), speechlike(rate // 3, -70, rate, seed=8)):
        assert np.array_equal(logmel(x, cfg, rate, fe), reference.logmel_int(x, cfg, rate))


def test_numpy_specification_equals_c_quantized(models):
    x, rate = sf.read(os.path.join(ROOT, "models", "samples", "librivox-0880.wav"), dtype="int16")
    for prec, (m, net) in models.items():
        quant = (prec, m.in_scale, m.in_zero, m.mean, m.inv_std)
        got = logmel(x, m.features, rate, Frontend(m.features, "int", net))
        assert got.dtype == reference.logmel_int(x[:10], m.features, rate, quant).dtype
        assert np.array_equal(got, reference.logmel_int(x, m.features, rate, quant)), prec
        y = speechlike(22050, -45, 22050, seed=9)
        assert np.array_equal(logmel(y, m.features, 22050, Frontend(m.features, "int", net)),
                              reference.logmel_int(y, m.features, 22050, quant)), prec


# ------------------------------------------------------------------ close


def test_log_energies_are_close_to_the_float_frontend():
    for cfg in (FeatureConfig(), cmn_config()):
        fe = Frontend(cfg, "int")
        for name, rate, x in signals():
            a = logmel(x, cfg, rate).astype(np.float64)
            b = logmel(x, cfg, rate, fe).astype(np.float64) / 65536
            assert a.shape == b.shape, name
            d = np.abs(a - b)
            assert d.max() <= LOG_TOL and d.mean() <= MEAN_TOL, (name, d.max(), d.mean())


@pytest.mark.parametrize("prec", ["int8", "int16"])
def test_quantized_frames_are_close_to_the_float_path(prec, models):
    m, net = models[prec]
    fe = Frontend(m.features, "int", net)
    assert fe.dtype == (np.int8 if prec == "int8" else np.int16)
    for name, rate, x in signals():
        f = logmel(x, m.features, rate)
        want = reference.quantize_input(m, (f.astype(np.float64) - m.mean) * m.inv_std)
        got = logmel(x, m.features, rate, fe).astype(np.int64)
        d = np.abs(got - want)
        if prec == "int8":
            assert d.max() <= 1 and (d > 0).mean() <= 0.01, (name, d.max(), (d > 0).mean())
        else:
            assert d.max() <= INT16_STEPS and d.mean() <= 1.0, (name, d.max(), d.mean())


@pytest.mark.parametrize("prec", ["int8", "int16"])
def test_recognizer_with_the_integer_frontend(prec):
    from asr.stream import Recognizer
    rec_i = Recognizer(precision=prec, frontend="int")
    rec_f = Recognizer(precision=prec, frontend="float")
    assert (rec_i.frontend, rec_f.frontend) == ("int", "float")
    for p in sorted(glob.glob(os.path.join(ROOT, "models", "samples", "*.wav"))):
        x, rate = sf.read(p, dtype="int16")
        whole = rec_i.recognize(x, rate)
        s = rec_i.stream(rate)
        for i in range(0, len(x), 777):
            s.accept(x[i:i + 777])
        s.finish()
        assert " ".join(r.text for r in s.results if r.text) == whole.text
        assert whole.text == rec_f.recognize(x, rate).text, p


# ------------------------------------------------------------- refused


def test_bad_input_is_refused_and_the_stream_goes_on():
    cfg = FeatureConfig()
    fe = Frontend(cfg, "int")
    s = FeatureStream(cfg, 16000, fe)
    with pytest.raises(NativeArgumentError, match="NaN"):
        s.accept(np.array([0.0, np.nan], np.float32))
    x = speechlike(1000, -20)
    assert np.array_equal(np.concatenate([s.accept(x), s.finish()]), logmel(x, cfg, 16000, fe))
    # the float calls on an integer stream, and the other way round
    s = FeatureStream(cfg, 16000, fe)
    n, st = ffi.new("size_t *"), new_status()
    out = ffi.new("float[40]")
    assert lib.asr_fstream_accept_s16(s._s, ffi.new("int16_t[1]"), 1, out, 1, n, st) == lib.ASR_E_ARG
    assert b"integer frontend" in ffi.string(st.message)
    assert lib.asr_fstream_finish(s._s, out, 1, n, st) == lib.ASR_E_ARG
    f = FeatureStream(cfg, 16000)
    assert lib.asr_fstream_accept_s16_q(f._s, ffi.new("int16_t[1]"), 1, out, 1, n, st) == lib.ASR_E_ARG
    assert lib.asr_fstream_finish_q(f._s, out, 1, n, st) == lib.ASR_E_ARG


def test_bad_descriptions_are_refused(models):
    cfg = FeatureConfig()
    j = np.arange(40)
    ok = ("int8", 0.03, 3, (-8 + 0.2 * j), np.full(40, 0.3))
    Frontend(cfg, "int", quant=ok)
    with pytest.raises(NativeArgumentError, match="in_zero"):
        Frontend(cfg, "int", quant=("int8", 0.03, 200, ok[3], ok[4]))
    with pytest.raises(NativeArgumentError, match="in_scale"):
        Frontend(cfg, "int", quant=("int16", 0.0, 0, ok[3], ok[4]))
    with pytest.raises(NativeArgumentError, match="not finite"):
        Frontend(cfg, "int", quant=("int16", 0.01, 0, np.full(40, np.inf), ok[4]))
    with pytest.raises(NativeError, match="outside the integer frontend's range"):
        Frontend(cfg, "int", quant=("int16", 1e-30, 0, np.full(40, 1e20), ok[4]))
    with pytest.raises(NativeError, match="cmn_frames"):
        Frontend(FeatureConfig(cmn_frames=70000, cmn_prior=tuple(np.zeros(40))), "int")
    with pytest.raises(NativeError, match="log_floor"):
        Frontend(FeatureConfig(log_floor=1e-60), "int")
    with pytest.raises(ValueError, match="mode"):
        Frontend(cfg, "fixed")
    m = Model.load(os.path.join(ROOT, "models", "en-us-float.asrm"))
    with pytest.raises(ValueError, match="integer networks"):
        Frontend(m.features, "int", Network(m))
    from asr.stream import Recognizer
    with pytest.raises(AsrError, match="integer models"):
        Recognizer(model=m, frontend="int")
    with pytest.raises(AsrError, match="frontend must be"):
        Recognizer(model=m, frontend="fixed")
    d = ffi.new("asr_frontend_desc *", {"mode": lib.ASR_FE_INT, "sample_rate": 16000, "win_len": 400,
                                         "hop_len": 160, "nfft": 512, "num_filters": 40,
                                         "low_hz": 20.0, "high_hz": 7600.0, "log_floor": 1e-10,
                                         "out_dtype": lib.ASR_F32})
    out, st = ffi.new("asr_frontend **"), new_status()
    assert lib.asr_frontend_create(d, out, st) == lib.ASR_E_ARG and out[0] == ffi.NULL
    assert b"out_dtype" in ffi.string(st.message)


@pytest.mark.parametrize("rate", [44101, 48001, 7999])
def test_coprime_rates_compute_their_rows_and_equal_the_specification(rate):
    """16000 phases x 64, 96 or 32 taps: past ASR_FE_INT_MAX_TAPS, so each
    output's Q30 row is computed when needed; the same taps as the numpy
    specification's whole table, in any chunking."""
    assert 16000 * 32 > lib.ASR_FE_INT_MAX_TAPS
    cfg = cmn_config()
    fe = Frontend(cfg, "int")
    x = speechlike(rate * 2 // 5, -25, rate, seed=rate)
    whole = logmel(x, cfg, rate, fe)
    assert len(whole) == len(logmel(x, cfg, rate))
    assert np.array_equal(whole, reference.logmel_int(x, cfg, rate))
    assert np.array_equal(chunked(x, cfg, rate, fe, seed=1), whole)
    with pytest.raises(AudioError):
        FeatureStream(FeatureConfig(), 0, fe)


def test_recognizer_refuses_a_frontend_for_another_quantization(models):
    m, net = models["int8"]
    other = Frontend(m.features, "int", quant=("int8", m.in_scale * 2, m.in_zero, m.mean, m.inv_std))
    from asr.decoder import build_decoder
    dec = build_decoder(m.labels, lm=False)
    out, st = ffi.new("asr_recognizer **"), new_status()
    ep = ffi.new("asr_endpoint_opts *", {"enabled": 0})
    rc = lib.asr_recognizer_create(other._fe, net._net, dec._ptr, ffi.NULL, 0, 0, 0.03, ep, 0, out, st)
    assert rc == lib.ASR_E_ARG and b"not the network's input" in ffi.string(st.message)


def test_every_x86_kernel_gives_the_same_outputs_from_integer_frames(models):
    """The integer frames feed every kernel of this CPU to the same
    log-probabilities: the whole integer path is exact end to end."""
    from asr._native import available_kernels
    x, rate = sf.read(os.path.join(ROOT, "models", "samples", "tidigits-dhd-2934z.wav"), dtype="int16")
    for prec, (m, net) in models.items():
        q = logmel(x, m.features, rate, Frontend(m.features, "int", net))
        outs = {k: Network(m, kernel=k).stream().forward_q(q, finish=True) for k in available_kernels()}
        ref = outs.pop("ref")
        for k, out in outs.items():
            assert np.array_equal(out, ref), (prec, k)
