import io

import numpy as np
import pytest
import soundfile as sf

from asr.audio import Resampler, iter_audio, prepare, read_audio
from asr.errors import AudioError


def tone(rate, seconds=1.0, hz=440.0):
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.mark.parametrize("src", [8000, 11025, 22050, 44100, 48000, 96000])
def test_resample_keeps_a_tone(src):
    y = Resampler(src, 16000).process(tone(src), final=True)
    assert len(y) == 16000
    ref = tone(16000)
    # away from the zero-padded ends the tone is reproduced closely
    assert np.abs(y[200:-200] - ref[200:-200]).max() < 5e-3


@pytest.mark.parametrize("src", [8000, 44100])
def test_resampler_chunked_equals_whole(src):
    x = np.random.default_rng(0).standard_normal(src // 2).astype(np.float32)
    whole = Resampler(src, 16000).process(x, final=True)
    r, parts, i = Resampler(src, 16000), [], 0
    rng = np.random.default_rng(1)
    while i < len(x):
        k = int(rng.integers(1, 700))
        parts.append(r.process(x[i:i + k]))
        i += k
    parts.append(r.process(np.zeros(0), final=True))
    assert np.array_equal(np.concatenate(parts), whole)


def wav_bytes(data, rate, subtype="PCM_16", fmt="WAV"):
    buf = io.BytesIO()
    sf.write(buf, data, rate, subtype=subtype, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT"])
def test_reads_sample_formats(subtype):
    x = read_audio(wav_bytes(tone(16000, 0.2), 16000, subtype))
    assert x.dtype == np.float32 and len(x) == 3200
    assert np.abs(x - tone(16000, 0.2)).max() < 2e-2


def test_mixes_channels_and_resamples():
    st = np.stack([tone(44100, 0.5), -tone(44100, 0.5) * 0.0 + 0.1], axis=1)
    x = read_audio(wav_bytes(st, 44100))
    assert len(x) == 8000
    six = np.repeat(tone(8000, 0.5)[:, None], 6, axis=1)
    assert len(read_audio(wav_bytes(six, 8000))) == 8000


def test_empty_and_garbage_are_clear_errors(tmp_path):
    with pytest.raises(AudioError, match="no samples"):
        read_audio(wav_bytes(np.zeros((0, 1), dtype=np.float32), 16000))
    with pytest.raises(AudioError, match="cannot read"):
        read_audio(b"this is not audio at all")
    with pytest.raises(AudioError, match="cannot read"):
        read_audio(wav_bytes(tone(16000, 0.1), 16000)[:30])
    with pytest.raises(AudioError, match="cannot read audio: no such file"):
        read_audio(str(tmp_path / "missing.wav"))
    with pytest.raises(AudioError, match="cannot read audio: it is a directory"):
        read_audio(str(tmp_path))
    with pytest.raises(AudioError, match="cannot read audio: no such file"):
        next(iter_audio(str(tmp_path / "missing.wav")))


def test_non_finite_samples_are_refused():
    x = tone(16000, 0.1)
    x[10] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        prepare(x, 16000)
