"""The streaming recognizer: any chunking gives the offline result,
endpointing cuts utterances at pauses, streams are independent across
threads, and the microphone path runs on a file through the same code."""
import dataclasses
import io
import threading

import numpy as np
import pytest

import asr
from asr.microphone import feed_blocks
from asr.model import Layer, Model
from asr.features import FeatureConfig
from asr.stream import EndpointConfig, Recognizer

from helpers import PHONES, random_float_model

LEXICON = "\n".join([
    "cat K AE T", "cab K AE B", "dog D AO G", "go G OW", "stop S T AA P", "tea T IY",
    "see S IY", "sea S IY", "at AE T", "add AE D", "bat B AE T", "ten T EH N", "tee T",
]) + "\n"


@pytest.fixture(scope="module")
def lexicon(tmp_path_factory):
    p = tmp_path_factory.mktemp("lex") / "words.dict"
    p.write_text(LEXICON)
    return str(p)


def speechlike(seconds, seed, pauses=()):
    """Noise bursts shaped like syllables, silent inside each (start, end)
    pause, at 16 kHz."""
    rng = np.random.default_rng(seed)
    n = int(seconds * 16000)
    t = np.arange(n) / 16000.0
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2
    x = (rng.standard_normal(n) * 0.1 * env).astype(np.float32)
    for a, b in pauses:
        x[int(a * 16000):int(b * 16000)] *= 0.001
    return x


def random_chunks(x, rng, max_len):
    i = 0
    while i < len(x):
        n = int(rng.integers(1, max_len + 1))
        yield x[i:i + n]
        i += n


def result_key(results):
    return [(r.text, [(w.word, round(w.start, 6), round(w.end, 6), round(w.conf, 6)) for w in r.words])
            for r in results]


@pytest.mark.parametrize("cmn_frames", [0, 50])
@pytest.mark.parametrize("precision", ["float", "int8"])
def test_any_chunking_equals_offline(lexicon, precision, cmn_frames):
    model = random_float_model(seed=4, hidden=32)
    if cmn_frames:      # channel normalization, starting from the model's mean
        model.features = dataclasses.replace(model.features, cmn_frames=cmn_frames,
                                             cmn_prior=tuple(float(v) for v in model.mean))
    if precision == "int8":
        from asr.quantize import quantize_model
        from asr.features import logmel
        calib = [logmel(speechlike(2.0, s), model.features) for s in range(3)]
        model, _ = quantize_model(model, calib, "int8", report=False)
    rec = Recognizer(model=model, lexicon=lexicon, lm=False, endpoint=EndpointConfig(enabled=False))
    x = speechlike(3.0, 7)
    whole = rec.stream()
    whole.accept(x)
    whole.finish()
    rng = np.random.default_rng(1)
    for max_len in (1, 37, 160, 4000):
        s = rec.stream()
        part = x[:2000] if max_len == 1 else x          # 1-sample chunks: a short prefix
        if max_len == 1:
            ref = rec.stream()
            ref.accept(part)
            ref.finish()
        for c in random_chunks(part, rng, max_len):
            s.accept(c)
        s.finish()
        assert result_key(s.results) == result_key((ref if max_len == 1 else whole).results)


def test_int16_chunks_and_other_rates_are_accepted(lexicon):
    rec = Recognizer(model=random_float_model(seed=4, hidden=32), lexicon=lexicon, lm=False)
    x = speechlike(1.0, 3)
    pcm = (x * 32767).astype(np.int16)
    a = rec.stream()
    a.accept(pcm)
    ra = a.finish()
    b = rec.stream()
    b.accept(x)
    rb = b.finish()
    assert ra.text == rb.text
    from asr.audio import Resampler
    x8 = Resampler(16000, 8000).process(x, final=True)
    c = rec.stream(sample_rate=8000)
    for chunk in random_chunks(x8, np.random.default_rng(0), 300):
        c.accept(chunk)
    c.finish()                      # runs end to end at 8 kHz without error


def energy_model():
    """A one-layer 'acoustic model' whose blank log-probability follows the
    frame energy: loud frames favour phone T, quiet frames the blank. It
    makes endpointing testable on generated audio."""
    labels = ["<blk>"] + PHONES
    d = 40
    w = np.zeros((len(labels), d), np.float32)
    b = np.zeros(len(labels), np.float32)
    t = labels.index("T")
    w[t, :] = 1.0 / d * 4.0          # mean normalized log-energy drives T
    b[1:] = -9.0                     # other phones: never
    b[t] = 0.0
    layer = Layer(in_dim=d, out_dim=len(labels), kernel=1, act="logsoftmax", weight=w, bias=b)
    return Model(features=FeatureConfig(), labels=labels, mean=np.full(d, -8.0, np.float32),
                 inv_std=np.full(d, 0.5, np.float32), layers=[layer])


def test_endpointing_cuts_at_pauses(lexicon):
    rec = Recognizer(model=energy_model(), lexicon=lexicon, lm=False,
                     endpoint=EndpointConfig(endpoint_silence_s=0.5))
    x = speechlike(7.0, 11, pauses=[(1.5, 2.6), (3.8, 5.0)])
    x[-16000:] *= 0.001
    s = rec.stream()
    flagged = 0
    for c in random_chunks(x, np.random.default_rng(2), 1600):
        p = s.accept(c)
        flagged += p.endpoint
    s.finish()
    # Three bursts of speech, each followed by a long enough pause.
    assert len(s.results) == 3, [(r.start, r.end, r.text) for r in s.results]
    assert flagged == 3
    assert all(r.text and set(r.text.split()) == {"tee"} for r in s.results)
    starts = [r.start for r in s.results]
    assert starts == sorted(starts)
    for r, (a, b) in zip(s.results, [(0, 1.5), (2.6, 3.8), (5.0, 6.0)]):
        assert r.start <= a + 0.1 and r.end >= b - 0.1


def test_streams_in_threads_match_sequential(lexicon):
    model = random_float_model(seed=5, hidden=32)
    rec = Recognizer(model=model, lexicon=lexicon, lm=False, endpoint=EndpointConfig(enabled=False))
    audio = [speechlike(2.0, 20 + i) for i in range(4)]

    def run(x, chunk):
        s = rec.stream()
        for i in range(0, len(x), chunk):
            s.accept(x[i:i + chunk])
        s.finish()
        return result_key(s.results)

    want = [run(x, 16000) for x in audio]
    got = [None] * 4

    def worker(i):
        for _ in range(3):
            got[i] = run(audio[i], 160 + 37 * i)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert got == want


def test_microphone_path_with_a_fake_device(lexicon):
    """feed_blocks is what the sounddevice callback queue drains into."""
    rec = Recognizer(model=energy_model(), lexicon=lexicon, lm=False,
                     endpoint=EndpointConfig(endpoint_silence_s=0.5))
    x = speechlike(4.0, 12, pauses=[(1.5, 2.6)])
    x[-16000:] *= 0.001
    blocks = [(x[i:i + 1600] * 32767).astype(np.int16) for i in range(0, len(x), 1600)]
    out = io.StringIO()
    finals = feed_blocks(rec, blocks, 16000, out=out, tty=True)
    assert len(finals) == 2
    lines = [ln for ln in out.getvalue().split("\n") if ln.strip("\r ")]
    assert len(lines) == len([f for f in finals if f.text])


def test_public_names():
    assert asr.Recognizer is Recognizer
    assert callable(Recognizer.stream)
