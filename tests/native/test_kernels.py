"""Every SIMD kernel against the plain-C reference, bit for bit for the
integer products, and the float path against numpy; plus garbage arguments.

Shapes are random (odd sizes, sizes that are not a multiple of any vector
width, strides wider than the rows) and the caller's buffers are placed at
deliberately misaligned addresses."""
import numpy as np
import pytest

from asr import _native
from asr._native import ffi, lib
from asr.errors import NativeError

PATHS = _native.available_kernels()
SIMD = [p for p in PATHS if p != "ref"]
CTYPE = {np.int8: "int8_t *", np.int16: "int16_t *", np.int32: "int32_t *",
         np.int64: "int64_t *", np.float32: "float *"}
GEMM = {np.int8: ("asr_gemm_s8s8s32", np.int32), np.int16: ("asr_gemm_s16s16s64", np.int64),
        np.float32: ("asr_gemm_f32", np.float32)}


def misaligned(arr, offset):
    """A copy of ``arr`` living ``offset`` bytes past a 64-byte boundary,
    and the cdata pointer to it (the bytearray keeps it alive)."""
    raw = bytearray(arr.nbytes + 64 + offset)
    base = ffi.from_buffer(raw)
    shift = (-int(ffi.cast("uintptr_t", base))) % 64 + offset
    view = np.frombuffer(raw, dtype=arr.dtype, count=arr.size, offset=shift).reshape(arr.shape)
    view[...] = arr
    return ffi.cast(CTYPE[arr.dtype.type], base + shift), view, raw


def gemm(path, w, x, out_cols=None, offsets=(0, 0, 0)):
    """Run one public product on padded, misaligned buffers; returns out."""
    name, odt = GEMM[w.dtype.type]
    rows, cols = w.shape
    batch, x_stride = x.shape
    out_stride = out_cols or rows
    wp, _, keep_w = misaligned(w, offsets[0])
    xp, _, keep_x = misaligned(x, offsets[1])
    sentinel = np.full((batch, out_stride), 77, odt)
    op, oview, keep_o = misaligned(sentinel, offsets[2])
    st = _native.new_status()
    _native.check(getattr(lib, name)(_native.kernel_id(path), wp, rows, cols, cols, xp, batch,
                                     x_stride, op, out_stride, st), st)
    out = np.array(oview)
    # Nothing outside the rows x batch block may be written.
    assert np.all(out[:, rows:] == 77)
    del keep_w, keep_x, keep_o
    return out[:, :rows]


def random_case(rng, dtype, extreme=False, narrow=False):
    """Random w (rows x cols) and x (batch x x_stride). ``narrow``: int8
    weights in [-63, 63], which SSE4.1/AVX2 run on their unsigned-input
    route (kernels_x86.inc) instead of the sign route: "uniform" over the
    range (about half the k-group pairs fusable), or "trained" (mostly small
    like a trained layer's, so most pairs fuse, with a few large ones)."""
    rows = int(rng.integers(1, 70))
    cols = int(rng.choice([1, 2, 3, 4, 5, 7, 15, 16, 17, 31, 33, 63, 64, 65, 127, 129,
                           int(rng.integers(1, 400))]))
    batch = int(rng.integers(1, 20))
    x_stride = cols + int(rng.integers(0, 5))
    if dtype == np.int8:
        wmax = 63 if narrow else 127
        w = rng.integers(-wmax, wmax + 1, (rows, cols)).astype(np.int8)
        if narrow == "trained":
            w = np.clip(np.round(rng.laplace(0, 8, (rows, cols))), -63, 63).astype(np.int8)
        x = rng.integers(-128, 128, (batch, x_stride)).astype(np.int8)
        if extreme:
            w = rng.choice([-wmax, wmax], (rows, cols)).astype(np.int8)
            x[...] = rng.choice([-128, 127], x.shape) if narrow else -128
    elif dtype == np.int16:
        w = rng.integers(-32767, 32768, (rows, cols)).astype(np.int16)
        x = rng.integers(-32768, 32768, (batch, x_stride)).astype(np.int16)
        if extreme:
            w = rng.choice([-32767, 32767], (rows, cols)).astype(np.int16)
            x[...] = rng.choice([-32768, 32767], x.shape)
    else:
        w = rng.standard_normal((rows, cols)).astype(np.float32)
        x = rng.standard_normal((batch, x_stride)).astype(np.float32)
    return w, x


def exact(w, x):
    cols = w.shape[1]
    return x[:, :cols].astype(np.int64) @ w.astype(np.int64).T


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", [np.int8, np.int16])
def test_integer_paths_equal_reference(path, dtype):
    rng = np.random.default_rng(1234 + PATHS.index(path) * 7 + (dtype == np.int16))
    for i in range(60):
        w, x = random_case(rng, dtype, extreme=(i % 8 >= 6), narrow=[False, "uniform", "trained"][i % 3])
        offs = tuple(int(v) for v in rng.integers(0, 4, 3))
        ref = gemm("ref", w, x)
        got = gemm(path, w, x, out_cols=w.shape[0] + int(rng.integers(0, 3)), offsets=offs)
        np.testing.assert_array_equal(got, ref, err_msg="%s %s shape %s batch %d offsets %s"
                                      % (path, dtype.__name__, w.shape, x.shape[0], offs))
        # And the reference is the exact integer product (no wrap-around).
        np.testing.assert_array_equal(ref.astype(np.int64), exact(w, x))


@pytest.mark.parametrize("path", PATHS)
def test_float_paths_match_numpy(path):
    rng = np.random.default_rng(99 + PATHS.index(path))
    for _ in range(25):
        w, x = random_case(rng, np.float32)
        offs = tuple(int(v) for v in rng.integers(0, 4, 3))
        got = gemm(path, w, x, offsets=offs)
        want = x[:, :w.shape[1]].astype(np.float64) @ w.astype(np.float64).T
        scale = np.abs(x[:, :w.shape[1]]).astype(np.float64) @ np.abs(w.astype(np.float64)).T
        # 1e-5 relative to the sum of magnitudes, which bounds any ordering's error.
        assert np.all(np.abs(got - want) <= 1e-5 * scale + 1e-30), path


@pytest.mark.parametrize("path", PATHS)
def test_float_result_of_a_frame_does_not_depend_on_batch(path):
    """The rounding sequence per output depends on cols only, so streaming
    one frame at a time gives the same bits as a batch."""
    rng = np.random.default_rng(5)
    w = rng.standard_normal((37, 61)).astype(np.float32)
    x = rng.standard_normal((11, 61)).astype(np.float32)
    whole = gemm(path, w, x)
    for n in range(len(x)):
        np.testing.assert_array_equal(gemm(path, w, x[n:n + 1]), whole[n:n + 1])


def test_largest_reduction_stays_exact():
    """At ASR_MAX_K the int8 bound 65536 * 128 * 127 is reached without
    overflow on every path, and int16 sums far beyond 2^31 stay exact."""
    k = lib.ASR_MAX_K
    w8 = np.full((3, k), -127, np.int8)
    x8 = np.full((2, k), -128, np.int8)
    w16 = np.full((3, k), 32767, np.int16)
    x16 = np.full((2, k), -32768, np.int16)
    for path in PATHS:
        assert np.all(gemm(path, w8, x8) == k * 128 * 127)
        assert np.all(gemm(path, w16, x16) == -k * 32768 * 32767)
        # 7-bit weights beyond ASR_NARROW_MAX_K take the wide route.
        assert np.all(gemm(path, np.full((3, k), 63, np.int8), x8) == -k * 128 * 63)


def test_narrow_route_bounds():
    """The narrow int8 route (SSE4.1/AVX2, 7-bit weights) at its largest K,
    with x + 128 = 255 and 0, and the bound of its fused k-group pairs."""
    k = lib.ASR_NARROW_MAX_K
    x_hi = np.full((2, k), 127, np.int8)          # x + 128 = 255
    x_lo = np.full((2, k), -128, np.int8)         # x + 128 = 0
    for path in PATHS:
        w7 = np.full((3, k), 63, np.int8)
        assert np.all(gemm(path, w7, x_hi) == k * 127 * 63)
        assert np.all(gemm(path, -w7, x_hi) == -k * 127 * 63)
        assert np.all(gemm(path, w7, x_lo) == -k * 128 * 63)
        # Fused pairs at their bound: four weights of 32 per int16 lane...
        w5 = np.full((3, k), 32, np.int8)
        assert np.all(gemm(path, w5, x_hi) == k * 127 * 32)
        assert np.all(gemm(path, -w5, x_lo) == k * 128 * 32)
        # ...and one step past it (4 x 33 = 132): 255 * 132 > 2^15, no fusing.
        assert np.all(gemm(path, w5 + 1, x_hi) == k * 127 * 33)


@pytest.mark.parametrize("rows", [8, 33])
def test_fused_pairs_of_distant_groups(rows):
    """Heavy and light k-groups alternate in twos (H H L L ...): neighbours
    H H cannot fuse, H with an L further on can. Lane sums H + L of exactly
    ASR_FUSE_S8 = 128 fuse; 129 must not (255 * 129 saturates int16)."""
    heavy = [63, 38, 63, 38]                     # int16 lane sums 101
    for light, bound in (([14, 13, 14, 13], 128), ([14, 14, 14, 14], 129)):
        assert 101 + sum(light[:2]) == bound
        groups = [heavy, heavy, light, light] * 60 + [light]
        row = np.array([v for g in groups for v in g] + [5, 7], np.int8)   # and a 2-byte tail
        w = np.tile(row, (rows, 1))
        w[1::2] *= -1
        for x in (np.full((3, len(row)), 127, np.int8), np.full((3, len(row)), -128, np.int8)):
            ref = gemm("ref", w, x)
            assert np.all(ref == exact(w, x))
            for path in PATHS:
                np.testing.assert_array_equal(gemm(path, w, x), ref, err_msg="%s bound %d" % (path, bound))


def test_kernel_path_forced_by_environment(monkeypatch):
    for path in PATHS:
        monkeypatch.setenv("ASR_KERNEL", path)
        assert _native.resolve_kernel("auto") == path
    monkeypatch.setenv("ASR_KERNEL", "nonsense")
    with pytest.raises(NativeError, match="not a kernel"):
        _native.resolve_kernel("auto")
    monkeypatch.delenv("ASR_KERNEL")
    assert _native.resolve_kernel("auto") == PATHS[-1]


def test_unavailable_path_is_refused():
    missing = [p for p in _native.KERNEL_NAMES.values() if p not in PATHS]
    for name in missing:
        with pytest.raises(NativeError, match="not available"):
            _native.resolve_kernel(name)
    st = _native.new_status()
    out = ffi.new("int *")
    assert lib.asr_kernel_resolve(97, out, st) == lib.ASR_E_ARG


def call(name, path, w, rows, cols, w_stride, x, batch, x_stride, out, out_stride):
    st = _native.new_status()
    rc = getattr(lib, name)(path, w, rows, cols, w_stride, x, batch, x_stride, out, out_stride, st)
    return rc, ffi.string(st.message).decode()


def test_garbage_arguments_are_refused_with_messages():
    w = ffi.new("int8_t[]", 64)
    x = ffi.new("int8_t[]", 64)
    out = ffi.new("int32_t[]", 64)
    g = "asr_gemm_s8s8s32"
    cases = [
        ((g, 0, ffi.NULL, 2, 2, 2, x, 1, 2, out, 2), "null weight"),
        ((g, 0, w, 2, 2, 2, ffi.NULL, 1, 2, out, 2), "null input"),
        ((g, 0, w, 2, 2, 2, x, 1, 2, ffi.NULL, 2), "null output"),
        ((g, 0, w, 0, 2, 2, x, 1, 2, out, 2), "rows 0"),
        ((g, 0, w, 2, 0, 2, x, 1, 2, out, 2), "cols 0"),
        ((g, 0, w, 2, 2, 2, x, 0, 2, out, 2), "batch is 0"),
        ((g, 0, w, 2, 4, 2, x, 1, 4, out, 2), "weight stride 2"),
        ((g, 0, w, 2, 4, 4, x, 1, 3, out, 2), "input stride 3"),
        ((g, 0, w, 3, 2, 2, x, 1, 2, out, 2), "output stride 2"),
        ((g, 0, w, 1 << 40, 2, 2, x, 1, 2, out, 1 << 40), "rows"),
        ((g, 0, w, 2, 1 << 40, 1 << 40, x, 1, 1 << 40, out, 2), "cols"),
        ((g, 0, w, 2, 2, 2, x, 2, (1 << 64) - 1, out, 2), "overflow"),
        ((g, 0, w, 2, 2, 2, x, (1 << 62), 2, out, 2), "overflow"),
        ((g, 42, w, 2, 2, 2, x, 1, 2, out, 2), "unknown kernel"),
    ]
    for args, needle in cases:
        rc, msg = call(*args)
        assert rc != lib.ASR_OK, args
        assert needle in msg, (needle, msg)


def test_weights_outside_the_symmetric_range_are_refused():
    for path in PATHS:
        with pytest.raises(NativeError, match="-128"):
            gemm(path, np.array([[1, -128, 3]], np.int8), np.zeros((1, 3), np.int8))
        with pytest.raises(NativeError, match="-32768"):
            gemm(path, np.array([[-32768]], np.int16), np.zeros((1, 1), np.int16))


def test_path_names_round_trip():
    for name in PATHS:
        assert ffi.string(lib.asr_kernel_name(_native.kernel_id(name))).decode() == name
    assert lib.asr_kernel_name(-5) == ffi.NULL
    assert lib.asr_api_version() == lib.ASR_API_VERSION
