import numpy as np
import python_speech_features as psf
import pytest

from asr.features import FeatureConfig, FeatureStream, logmel, num_frames


def signal(n, seed=0):
    return np.random.default_rng(seed).standard_normal(n) * 0.1


def test_matches_python_speech_features():
    cfg = FeatureConfig()
    x = signal(16000 + 321)
    energy, _ = psf.fbank(x, cfg.sample_rate, winlen=cfg.win_s, winstep=cfg.hop_s,
                          nfilt=cfg.num_filters, nfft=cfg.nfft, lowfreq=cfg.low_hz,
                          highfreq=cfg.high_hz, preemph=cfg.preemph, winfunc=np.hamming)
    ours = logmel(x, cfg)
    assert ours.shape == energy.shape
    # float32 output vs psf's float64: only float32 rounding apart
    np.testing.assert_allclose(ours, np.log(energy), atol=1e-5)


@pytest.mark.parametrize("n", [0, 1, 399, 400, 401, 560, 16000])
def test_frame_count_rule(n):
    cfg = FeatureConfig()
    assert logmel(signal(n), cfg).shape == (num_frames(n, cfg), cfg.num_filters)


@pytest.mark.parametrize("max_chunk", [1, 7, 160, 401, 5000])
def test_chunked_equals_whole(max_chunk):
    cfg = FeatureConfig()
    x = signal(12345, seed=3)
    whole = logmel(x, cfg)
    rng = np.random.default_rng(max_chunk)
    fs, parts, i = FeatureStream(cfg), [], 0
    while i < len(x):
        k = int(rng.integers(0, max_chunk + 1))
        parts.append(fs.accept(x[i:i + k]))
        i += k
    parts.append(fs.finish())
    assert np.array_equal(np.concatenate(parts), whole)


def test_silence_hits_log_floor_not_minus_inf():
    cfg = FeatureConfig()
    f = logmel(np.zeros(4000), cfg)
    assert np.all(np.isfinite(f)) and np.allclose(f, np.log(cfg.log_floor))


def test_finished_stream_refuses_more():
    fs = FeatureStream()
    fs.finish()
    with pytest.raises(ValueError):
        fs.accept(np.zeros(10))


def test_config_round_trip():
    cfg = FeatureConfig(num_filters=80, high_hz=8000.0)
    assert FeatureConfig.from_dict(cfg.to_dict()) == cfg
