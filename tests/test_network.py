"""The C network against the numpy references, on every kernel."""
import numpy as np
import pytest

from asr import _native, reference
from asr.errors import NativeError
from asr.network import Network
from asr.quantize import quantize_model
from helpers import random_feats, random_float_model

PATHS = _native.available_kernels()
# Q10 log-softmax: the C fixed-point exp/log tables against float64 on the
# same integer logits; bound of 2 output steps (2/1024 nats).
Q10_TOL = 2.0 / 1024


@pytest.fixture(scope="module")
def fmodel():
    return random_float_model(0)


@pytest.fixture(scope="module")
def feats(fmodel):
    return random_feats(fmodel, 211, seed=5)


@pytest.fixture(scope="module")
def qmodels(fmodel):
    calib = [random_feats(fmodel, 150, seed=s) for s in range(3)]
    q = {p: quantize_model(fmodel, calib, p, report=False)[0] for p in ("int8", "int16", "mixed")}
    # 8-bit int8 weights take the sign route of SSE4.1/AVX2, 7-bit (default)
    # the unsigned-input route: both must agree with the reference.
    q["int8w8"] = quantize_model(fmodel, calib, "int8", report=False, int8_weight_bits=8)[0]
    return q


def chunked(net, feats, seed, max_chunk):
    rng = np.random.default_rng(seed)
    s, parts, i = net.stream(), [], 0
    while i < len(feats):
        k = int(rng.integers(0, max_chunk + 1))
        parts.append(s.forward(feats[i:i + k]))
        i += k
    parts.append(s.forward(None, finish=True))
    return np.concatenate(parts)


@pytest.mark.parametrize("path", PATHS)
def test_float_matches_numpy(fmodel, feats, path):
    out = Network(fmodel, kernel=path).forward(feats)
    ref = reference.forward_float(fmodel, feats)
    assert out.shape == ref.shape == (-(-len(feats) // 3), 40)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("prec", ["int8", "int8w8", "int16", "mixed"])
def test_integer_matches_integer_reference(qmodels, feats, path, prec):
    q = qmodels[prec]
    out = Network(q, kernel=path).forward(feats)
    ref = reference.forward_int(q, feats)
    assert np.abs(out - ref).max() <= Q10_TOL


@pytest.mark.parametrize("prec", ["int8", "int8w8", "int16", "mixed"])
def test_integer_paths_are_bit_identical(qmodels, feats, prec):
    outs = [Network(qmodels[prec], kernel=p).forward(feats) for p in PATHS]
    for o in outs[1:]:
        assert np.array_equal(o, outs[0])


@pytest.mark.parametrize("prec", ["float", "int8", "int16"])
@pytest.mark.parametrize("max_chunk", [1, 5, 64, 500])
def test_any_chunking_is_bit_identical(fmodel, qmodels, feats, prec, max_chunk):
    net = Network(fmodel if prec == "float" else qmodels[prec])
    assert np.array_equal(chunked(net, feats, max_chunk, max_chunk), net.forward(feats))


def test_short_and_empty_inputs(fmodel):
    net = Network(fmodel)
    for n in (0, 1, 2, 3, 4):
        out = net.forward(random_feats(fmodel, n))
        assert out.shape == (-(-n // 3) if n else 0, 40)
        assert np.all(np.isfinite(out))


def test_long_input_streams_in_bounded_memory(qmodels, fmodel):
    net = Network(qmodels["int8"])
    s = net.stream()
    total = 0
    for i in range(200):                       # 200 x 300 frames = 10 minutes of audio
        total += s.forward(random_feats(fmodel, 300, seed=i)).shape[0]
    total += s.forward(None, finish=True).shape[0]
    assert total == 20000


def test_stream_refuses_after_finish_and_bad_shapes(fmodel):
    s = Network(fmodel).stream()
    with pytest.raises(NativeError, match="frames x 40"):
        s.forward(np.zeros((3, 7), dtype=np.float32))
    s.forward(None, finish=True)
    with pytest.raises(NativeError, match="finished"):
        s.forward(np.zeros((1, 40), dtype=np.float32))


def test_nan_features_are_refused(fmodel):
    f = random_feats(fmodel, 10)
    f[4, 2] = np.nan
    with pytest.raises(NativeError, match="non-finite"):
        Network(fmodel).forward(f)


def test_unknown_or_missing_path(fmodel):
    with pytest.raises(NativeError):
        Network(fmodel, kernel="mmx")
    missing = [p for p in ("sse41", "avx2", "avx512vnni", "neon", "neondot") if p not in PATHS]
    for p in missing:
        with pytest.raises(NativeError):
            Network(fmodel, kernel=p)


def test_garbage_descriptions_never_crash():
    """Call asr_net_create directly with broken descriptors."""
    from asr._native import ffi, lib
    st = _native.new_status()
    out = ffi.new("asr_net **")
    assert lib.asr_net_create(ffi.NULL, -1, out, st) == lib.ASR_E_ARG
    assert lib.asr_net_create(ffi.NULL, -1, ffi.NULL, st) == lib.ASR_E_ARG
    desc = ffi.new("asr_net_desc *")
    mean = ffi.new("float[4]")
    layers = ffi.new("asr_layer_desc[1]")
    desc.feat_dim, desc.mean, desc.inv_std, desc.n_layers, desc.layers = 4, mean, mean, 1, layers
    w = ffi.new("float[64]")
    L = layers[0]
    L.dtype, L.out_dtype, L.act = lib.ASR_F32, lib.ASR_F32, lib.ASR_ACT_LOGSOFTMAX
    L.in_dim, L.out_dim, L.kernel, L.dilation, L.stride, L.weight, L.bias = 4, 4, 1, 1, 1, w, w
    assert lib.asr_net_create(desc, -1, out, st) == lib.ASR_OK
    lib.asr_net_free(out[0])
    for field, value in [("in_dim", 0), ("in_dim", 5), ("out_dim", 10 ** 6), ("kernel", 0),
                         ("kernel", 1000), ("stride", 0), ("dilation", 0), ("act", 9),
                         ("dtype", 7), ("weight", ffi.NULL), ("act", lib.ASR_ACT_RELU)]:
        old = getattr(L, field)
        setattr(L, field, value)
        assert lib.asr_net_create(desc, -1, out, st) != lib.ASR_OK, field
        assert ffi.string(st.message)
        setattr(L, field, old)
    L.dtype = lib.ASR_S8            # integer layer without multipliers
    assert lib.asr_net_create(desc, -1, out, st) != lib.ASR_OK
    desc.n_layers = 100000
    assert lib.asr_net_create(desc, -1, out, st) == lib.ASR_E_SHAPE
    assert lib.asr_stream_create(ffi.NULL, ffi.new("asr_stream **"), st) == lib.ASR_E_ARG
    assert lib.asr_stream_forward(ffi.NULL, ffi.NULL, 0, 1, ffi.NULL, 0, ffi.new("size_t *"), st) \
        == lib.ASR_E_ARG


def test_output_room_is_checked(fmodel):
    from asr._native import ffi, lib
    net = Network(fmodel)
    s = net.stream()
    f = random_feats(fmodel, 30)
    st = _native.new_status()
    n = ffi.new("size_t *")
    out = np.zeros((2, 40), dtype=np.float32)
    rc = lib.asr_stream_forward(s._s, ffi.cast("float *", ffi.from_buffer(f)), 30, 1,
                                ffi.cast("float *", ffi.from_buffer(out)), 2, n, st)
    assert rc == lib.ASR_E_SHAPE and b"room" in ffi.string(st.message)
