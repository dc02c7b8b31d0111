"""Hostile and unusual audio: every case gives samples the model can run on
or a clear AudioError, never a crash, and long files stream in bounded
memory."""
import io
import os
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from asr.audio import iter_audio, read_audio
from asr.errors import AudioError
from asr.features import FeatureConfig, FeatureStream, logmel
from asr.network import Network

from helpers import random_float_model

CFG = FeatureConfig()


def tone(rate, seconds, channels=1, amp=0.3):
    t = np.arange(int(rate * seconds)) / rate
    x = amp * np.sin(2 * np.pi * 440 * t)
    return np.repeat(x[:, None], channels, axis=1) if channels > 1 else x


def write(tmp_path, name, data, rate, subtype, fmt="WAV"):
    p = str(tmp_path / name)
    sf.write(p, data, rate, subtype=subtype, format=fmt)
    return p


def run_model(samples):
    """Features and a float network over the samples: finite log-probs."""
    net = Network(random_float_model(seed=3), kernel="ref")
    feats = logmel(samples, CFG)
    lp = net.stream().forward(feats, finish=True)
    assert np.all(np.isfinite(lp))
    return lp


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
def test_sample_formats(tmp_path, subtype):
    rate = 16000
    p = write(tmp_path, "a.wav", tone(rate, 0.5), rate, subtype)
    x = read_audio(p, 16000)
    ref = tone(rate, 0.5).astype(np.float32)
    tol = {"PCM_U8": 1.0 / 64}.get(subtype, 1e-3)
    assert np.max(np.abs(x - ref)) < tol
    run_model(x)


@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 44100, 48000, 96000])
def test_rates_and_channels_are_resampled_and_mixed(tmp_path, rate, channels):
    p = write(tmp_path, "a.wav", tone(rate, 0.4, channels), rate, "PCM_16")
    x = read_audio(p, 16000)
    assert abs(len(x) - 0.4 * 16000) <= 2
    # A 440 Hz tone stays a 440 Hz tone at the same level.
    spec = np.abs(np.fft.rfft(x[800:-800] * np.hanning(len(x) - 1600)))
    assert abs(np.argmax(spec) * 16000 / (len(x) - 1600) - 440) < 10
    assert 0.25 < np.max(np.abs(x[800:-800])) < 0.35
    run_model(x)
    blocks = [b for _, b in iter_audio(p, block_s=0.07)]
    assert sum(len(b) for b in blocks) == int(rate * 0.4)


def test_one_sample_and_short_files(tmp_path):
    for n in (1, 2, 399, 401):
        p = write(tmp_path, "s%d.wav" % n, np.full(n, 0.1), 16000, "PCM_16")
        x = read_audio(p, 16000)
        assert len(x) == n
        lp = run_model(x)
        assert lp.shape[1] == 40


@pytest.mark.parametrize("maker", ["empty_wav", "zero_bytes", "text", "truncated_header", "random"])
def test_unreadable_inputs_raise_audio_error(tmp_path, maker):
    p = str(tmp_path / "bad.wav")
    if maker == "empty_wav":
        sf.write(p, np.zeros(0), 16000, subtype="PCM_16")
    elif maker == "zero_bytes":
        open(p, "wb").close()
    elif maker == "text":
        open(p, "w").write("this is not audio at all\n" * 10)
    elif maker == "truncated_header":
        buf = io.BytesIO()
        sf.write(buf, tone(16000, 0.2), 16000, subtype="PCM_16", format="WAV")
        open(p, "wb").write(buf.getvalue()[:30])
    else:
        open(p, "wb").write(np.random.default_rng(0).bytes(5000))
    with pytest.raises(AudioError) as ei:
        read_audio(p, 16000)
    assert "bad.wav" in str(ei.value)
    with pytest.raises(AudioError):
        list(iter_audio(p))


def test_truncated_data_keeps_what_is_there(tmp_path):
    buf = io.BytesIO()
    sf.write(buf, tone(16000, 1.0), 16000, subtype="PCM_16", format="WAV")
    data = buf.getvalue()
    p = str(tmp_path / "cut.wav")
    open(p, "wb").write(data[:len(data) // 2 + 1])     # the header promises more than follows
    x = read_audio(p, 16000)
    assert 0.45 * 16000 <= len(x) <= 0.55 * 16000
    run_model(x)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_are_refused(tmp_path, bad):
    x = tone(16000, 0.3)
    x[1234] = bad
    p = write(tmp_path, "nan.wav", x, 16000, "FLOAT")
    with pytest.raises(AudioError, match="NaN or infinite"):
        read_audio(p, 16000)
    with pytest.raises(AudioError, match="NaN or infinite"):
        list(iter_audio(p))


def test_clipped_and_silent_audio_run():
    loud = np.clip(tone(16000, 0.5, amp=5.0), -1, 1)
    run_model(loud.astype(np.float32))
    run_model(np.zeros(8000, np.float32))    # log floor, no -inf


def test_long_file_streams_in_bounded_memory(tmp_path):
    """Twenty minutes of 8 kHz audio pass through blocks, resampling and
    features while Python allocations stay far below the file's decoded
    size (20 min x 16 kHz x 4 bytes = 77 MB)."""
    rate, minutes = 8000, 20
    p = str(tmp_path / "long.wav")
    with sf.SoundFile(p, "w", rate, 1, subtype="PCM_16") as f:
        block = (0.1 * np.sin(np.arange(rate * 60) * 0.3)).astype(np.float32)
        for _ in range(minutes):
            f.write(block)
    from asr.audio import Resampler
    tracemalloc.start()
    rs = Resampler(rate, 16000)
    fe = FeatureStream(CFG)
    frames = 0
    for _, b in iter_audio(p, block_s=5.0):
        frames += len(fe.accept(rs.process(b)))
    frames += len(fe.accept(rs.process(np.zeros(0, np.float32), final=True)))
    frames += len(fe.finish())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert abs(frames - minutes * 60 * 100) <= 2
    assert peak < 16e6, peak
    os.remove(p)
