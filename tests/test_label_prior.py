"""The label prior correction end to end: tools/label_prior.py estimates
priors and stores them in model files without changing anything else, and
the recognizer (Python and C) uses the priors of the model it loads."""
import glob
import os

import numpy as np
import pytest

import asr
from asr.audio import read_audio
from asr.model import Model
from helpers import random_float_model
from tools import label_prior

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = sorted(glob.glob(os.path.join(ROOT, "models", "samples", "*.wav")))


def test_priors_are_mean_posteriors_and_written_without_other_changes(tmp_path):
    m = random_float_model(seed=3)
    prior = label_prior.label_log_prior(m, SAMPLES)
    assert prior.shape == (len(m.labels),) and prior.dtype == np.float32
    assert np.all(prior <= 0) and np.exp(prior.astype(np.float64)).sum() == pytest.approx(1, abs=1e-4)
    path = str(tmp_path / "m.asrm")
    m.save(path)
    m.label_log_prior = prior
    m.save(str(tmp_path / "direct.asrm"))
    # the tool's --write: estimated from one file, stored in another
    corpus = tmp_path / "corpus" / "one"
    corpus.mkdir(parents=True)
    (corpus / "wav.scp").write_text("".join("u%d %s\n" % (i, p) for i, p in enumerate(SAMPLES)))
    (corpus / "text").write_text("".join("u%d x\n" % i for i in range(len(SAMPLES))))
    assert label_prior.main([path, "--write", path, "--corpus", str(tmp_path / "corpus"),
                             "--splits", "one", "--utts", "10"]) == 0
    got = Model.load(path)
    assert np.array_equal(got.label_log_prior, prior)
    assert got.meta["label_prior"]["utterances"] == len(SAMPLES)
    before = Model.load(str(tmp_path / "direct.asrm"))
    for a, b in zip(got.layers, before.layers):
        assert np.array_equal(a.weight, b.weight) and np.array_equal(a.bias, b.bias)


def test_the_recognizer_uses_the_models_priors():
    rec = asr.Recognizer(prior_weight=0.25)
    assert rec.decoder.prior_weight == 0.25
    assert np.array_equal(rec.decoder.label_log_prior, rec.model.label_log_prior)
    m = Model.load(asr.stream.default_model_path("int8"))
    m.label_log_prior = None
    plain = asr.Recognizer(model=m, prior_weight=0.25)
    assert plain.decoder.label_log_prior is None
    # on real speech the correction changes the search, and only the search
    x, rate = read_audio(SAMPLES[1]), 16000
    a = asr.Recognizer(prior_weight=0.0).recognize(x, rate)
    b = asr.Recognizer(prior_weight=1.0).recognize(x, rate)
    assert [(w.word, w.start, w.end) for w in a.words] != [(w.word, w.start, w.end) for w in b.words]
