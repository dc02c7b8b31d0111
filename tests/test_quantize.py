import numpy as np
import pytest

from asr import reference
from asr.quantize import (DEFAULT_SCHEME, compare_schemes, fixed_multiplier, layer_precisions,
                          quantize_model, quantize_weights)
from helpers import random_feats, random_float_model

# Documented bounds on a random model (the bundled model's are in its card):
# max |log-prob(quantized) - log-prob(float)| over all frames and labels.
BOUND = {"int16": 0.01, "int8": 0.5, "mixed": 0.4}


@pytest.fixture(scope="module")
def setup():
    m = random_float_model(3)
    calib = [random_feats(m, 200, seed=s) for s in range(4)]
    held = [random_feats(m, 200, seed=100 + s) for s in range(2)]
    return m, calib, held


@pytest.mark.parametrize("prec", ["int8", "int16", "mixed"])
@pytest.mark.parametrize("scheme", ["symmetric", "asymmetric"])
def test_quantized_outputs_within_bound(setup, prec, scheme):
    m, calib, held = setup
    q, rep = quantize_model(m, calib, prec, scheme)
    for f in held:
        err = np.abs(reference.forward_int(q, f) - reference.forward_float(m, f)).max()
        assert err <= BOUND[prec], (prec, scheme, err)
    assert len(rep.layer_sqnr_db) == len(m.layers)
    floor = 60 if prec == "int16" else 25
    assert min(rep.layer_sqnr_db) > floor


def test_int8_weight_range(setup):
    """7-bit int8 weights (the default) use [-63, 63], 8-bit [-127, 127];
    both reach their end of the range on every row (per-channel scales)."""
    m, calib, held = setup
    errs = {}
    for bits, wmax in ((7, 63), (8, 127)):
        q, rep = quantize_model(m, calib, "int8", int8_weight_bits=bits)
        for L in q.layers:
            assert np.all(np.abs(L.weight.astype(int)).max(axis=1) == wmax)
            assert L.quant["weight_bits"] == bits
        errs[bits] = rep.mean_abs_logprob_error
    assert errs[8] < errs[7]          # the finer grid is more accurate, as it must be
    with pytest.raises(ValueError, match="int8_weight_bits"):
        quantize_model(m, calib, "int8", int8_weight_bits=6)


def test_int16_is_much_closer_than_int8(setup):
    m, calib, _ = setup
    r8 = quantize_model(m, calib, "int8")[1]
    r16 = quantize_model(m, calib, "int16")[1]
    assert min(r16.layer_sqnr_db) > max(r8.layer_sqnr_db) + 30


def test_mixed_precision_is_expressed_per_layer(setup):
    m, calib, _ = setup
    q, _ = quantize_model(m, calib, "mixed", report=False)
    n = len(m.layers)
    assert [L.dtype for L in q.layers] == ["int16"] + ["int8"] * (n - 2) + ["int16"]
    assert [L.out_dtype for L in q.layers][:-1] == [L.dtype for L in q.layers][1:]
    q2, _ = quantize_model(m, calib, "int8,int16,int16,int8,int8", report=False)
    assert [L.dtype for L in q2.layers] == ["int8", "int16", "int16", "int8", "int8"]


def test_default_scheme_measures_better(setup):
    m, calib, held = setup
    reps = compare_schemes(m, calib, held, "int8")
    other = [s for s in reps if s != DEFAULT_SCHEME][0]
    assert reps[DEFAULT_SCHEME].mean_abs_logprob_error <= reps[other].mean_abs_logprob_error


def test_weights_never_use_the_most_negative_value():
    w = np.random.default_rng(0).standard_normal((16, 33)) * 3
    for dtype, lim in (("int8", 127), ("int16", 32767)):
        for scheme in ("symmetric", "asymmetric"):
            q, scale, zero = quantize_weights(w, dtype, scheme)
            assert q.min() >= -lim and q.max() <= lim
            assert np.abs((q - zero) * scale[:, None] - w).max() <= scale.max() * 0.5 + 1e-12


@pytest.mark.parametrize("real", [1e-9, 3.7e-5, 0.01, 0.5, 0.999, 1.0, 7.3, 1000.0])
def test_fixed_multiplier_represents_the_scale(real):
    m, s = fixed_multiplier(real)
    assert 0 < m < 2 ** 31 and -31 <= s <= 32
    assert abs(m / 2.0 ** (31 + s) - real) <= real * 2 ** -29 + 2.0 ** -63


def test_precision_spec_errors():
    with pytest.raises(ValueError):
        layer_precisions("int4", 3)
    with pytest.raises(ValueError):
        layer_precisions(["int8"], 3)


# The bundled model's documented bounds (models/MODEL_CARD.md), on real
# speech: the mean |log-prob error| over the labels within SEARCH_WINDOW
# nats of each frame's best (the search prunes labels more than 8 nats below
# it, asr.decoder.DEFAULTS["prune"], so these are the errors it can act on),
# the mean over every label, and the share of frames whose best label agrees
# with float.
SEARCH_WINDOW = 10.0
BUNDLED_BOUND = {"int16": (0.01, 0.01, 0.99), "int8": (0.15, 0.3, 0.9)}


@pytest.mark.parametrize("prec", ["int16", "int8"])
def test_bundled_model_quantization_within_bound(prec):
    import glob
    import os
    from asr.audio import read_audio
    from asr.features import logmel
    from asr.model import Model
    from asr.network import Network
    from asr.quantize import LOGPROB_FLOOR
    from asr.stream import model_dirs
    d = next((d for d in model_dirs() if os.path.exists(os.path.join(d, "en-us-float.asrm"))), None)
    if d is None:
        pytest.skip("no bundled model in %s" % ", ".join(model_dirs()))
    fm = Model.load(os.path.join(d, "en-us-float.asrm"))
    qm = Model.load(os.path.join(d, "en-us-%s.asrm" % prec))
    fnet, qnet = Network(fm), Network(qm)
    for wav in sorted(glob.glob(os.path.join(d, "samples", "*.wav"))):
        f = logmel(read_audio(wav, 16000), fm.features)
        a, b = np.maximum(fnet.forward(f), LOGPROB_FLOOR), qnet.forward(f)   # int output floor
        err = np.abs(a - b)
        near = a >= a.max(1, keepdims=True) - SEARCH_WINDOW
        near_err, mean_err = float(err[near].mean()), float(err.mean())
        agree = float(np.mean(a.argmax(1) == b.argmax(1)))
        bound = BUNDLED_BOUND[prec]
        assert near_err <= bound[0] and mean_err <= bound[1] and agree >= bound[2], \
            (wav, prec, near_err, mean_err, agree)


def test_quantized_models_keep_the_label_priors(setup):
    """tools/export.py --requantize must not drop the decoder's label priors."""
    m, calib, _ = setup
    prior = np.log(np.full(len(m.labels), 1.0 / len(m.labels), np.float32))
    with_prior = random_float_model(3)
    with_prior.label_log_prior = prior
    for prec in ("int16", "int8"):
        q, _ = quantize_model(with_prior, calib, prec)
        assert np.array_equal(q.label_log_prior, prior)
        assert quantize_model(m, calib, prec)[0].label_log_prior is None
