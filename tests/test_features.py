import numpy as np
import python_speech_features as psf
import pytest

from asr.features import FeatureConfig, FeatureStream, logmel, num_frames
from asr.reference import ChannelNorm


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


def streamed(x, cfg, max_chunk):
    """Features of x fed to a FeatureStream in random chunks of 0..max_chunk samples."""
    rng = np.random.default_rng(max_chunk)
    fs, parts, i = FeatureStream(cfg), [], 0
    while i < len(x):
        k = int(rng.integers(0, max_chunk + 1))
        parts.append(fs.accept(x[i:i + k]))
        i += k
    parts.append(fs.finish())
    return np.concatenate(parts)


@pytest.mark.parametrize("max_chunk", [1, 7, 160, 401, 5000])
def test_chunked_equals_whole(max_chunk):
    cfg = FeatureConfig()
    x = signal(12345, seed=3)
    whole = logmel(x, cfg)
    assert np.array_equal(streamed(x, cfg, max_chunk), whole)


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


def cmn_config(frames=50, prior_frames=20, seed=0):
    prior = np.random.default_rng(seed).uniform(-8, 2, 40)
    return FeatureConfig(cmn_frames=frames, cmn_prior_frames=prior_frames,
                         cmn_prior=tuple(float(v) for v in prior))


@pytest.mark.parametrize("max_chunk", [1, 160, 1601])
def test_channel_norm_chunked_equals_whole(max_chunk):
    cfg = cmn_config()
    x = signal(30000, seed=4)
    whole = logmel(x, cfg)
    assert np.array_equal(streamed(x, cfg, max_chunk), whole)


def test_channel_norm_is_the_running_mean_recursion():
    """Output = frame - decayed mean (prior counted as cmn_prior_frames frames) + prior,
    written out frame by frame in float64."""
    cfg = cmn_config(frames=30, prior_frames=10)
    frames = np.random.default_rng(1).normal(-3, 2, (200, 40)).astype(np.float32)
    got = ChannelNorm(cfg).apply(frames)
    prior = np.array(cfg.cmn_prior)
    a, s, c = 1 - 1 / 30, prior * 10, 10.0
    for t, f in enumerate(frames.astype(np.float64)):
        s, c = a * s + f, a * c + 1
        np.testing.assert_allclose(got[t], f - s / c + prior, rtol=0, atol=1e-5)


def test_channel_norm_cancels_a_fixed_colouration():
    """A constant gain per filter (a microphone's response) is an offset in
    log energy: once the window has filled, it no longer reaches the output."""
    cfg = cmn_config(frames=100, prior_frames=10)
    frames = np.random.default_rng(2).normal(-4, 1.5, (1500, 40))
    offset = np.linspace(-3, 3, 40)
    plain = ChannelNorm(cfg).apply(frames)
    coloured = ChannelNorm(cfg).apply(frames + offset)
    late = slice(1000, None)      # a^900 of the start remains: below 1e-4 of it
    assert np.abs(coloured[late] - plain[late]).max() < 1e-3
    # at the start the prior outweighs the few frames seen: the offset passes
    assert np.abs(coloured[:3] - plain[:3]).max() > 2


def test_channel_norm_settings_are_checked():
    with pytest.raises(ValueError, match="cmn_prior"):
        FeatureStream(FeatureConfig(cmn_frames=100))            # no prior
    with pytest.raises(ValueError, match="cmn_prior"):
        FeatureStream(FeatureConfig(cmn_frames=100, cmn_prior=(float("nan"),) * 40))
    with pytest.raises(ValueError, match=">= 0"):
        FeatureStream(FeatureConfig(cmn_frames=-1))
    cfg = cmn_config()
    assert FeatureConfig.from_dict(cfg.to_dict()) == cfg
