"""The integer epilogue: exact rounding, and saturation at every limit."""
import numpy as np
import pytest

from asr import _native, reference
from asr._native import ffi, lib


def requant(acc, bias, mult, shift, zero, lo, hi):
    acc = np.asarray(acc, np.int64)
    n = len(acc)
    out = np.zeros(n, np.int32)
    st = _native.new_status()
    keep = [np.ascontiguousarray(a) for a in (acc, np.asarray(bias, np.int64),
                                                np.asarray(mult, np.int32), np.asarray(shift, np.int32))]
    p = [ffi.cast(t, ffi.from_buffer(a)) for t, a in zip(("int64_t *", "int64_t *", "int32_t *", "int32_t *"), keep)]
    _native.check(lib.asr_requant_s64(p[0], n, p[1], p[2], p[3], zero, lo, hi,
                                      ffi.cast("int32_t *", ffi.from_buffer(out)), st), st)
    return out


def test_round_half_up_exact():
    # v * m / 2^(31+s): with m = 2^30 and s = 0 this is v / 2, halves up.
    acc = np.array([-5, -4, -3, -1, 0, 1, 3, 5], np.int64)
    got = requant(acc, np.zeros(8), np.full(8, 1 << 30), np.zeros(8), 0, -1000, 1000)
    np.testing.assert_array_equal(got, [-2, -2, -1, 0, 0, 1, 2, 3])


def test_matches_the_numpy_reference_on_random_values():
    rng = np.random.default_rng(0)
    n = 4000
    acc = rng.integers(-(1 << 46), 1 << 46, n)
    acc[:1000] = rng.integers(-(1 << 20), 1 << 20, 1000)
    bias = rng.integers(-(1 << 30), 1 << 30, n)
    mult = rng.integers(1 << 30, (1 << 31) - 1, n).astype(np.int32)
    shift = rng.integers(-31, 33, n).astype(np.int32)
    got = requant(acc, bias, mult, shift, 3, -(1 << 31), (1 << 31) - 1)
    want = reference.requant(acc, bias, mult, shift, 3, -(1 << 31), (1 << 31) - 1)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("lo,hi", [(-128, 127), (0, 127), (-32768, 32767), (-5, 5)])
def test_saturates_to_the_output_range(lo, hi):
    acc = np.array([-(1 << 62), -(1 << 40), -1000, 0, 1000, 1 << 40, 1 << 62], np.int64)
    got = requant(acc, np.zeros(7), np.full(7, (1 << 31) - 1), np.full(7, -31), 0, lo, hi)
    assert got.min() >= lo and got.max() <= hi
    assert got[0] == lo and got[-1] == hi
    # The product saturates to int32 first; the zero point is added after
    # (in 64 bits) and the result clamped, so nothing wraps.
    got = requant(acc, np.zeros(7), np.full(7, (1 << 31) - 1), np.full(7, -31), 7, -(1 << 31), (1 << 31) - 1)
    assert got[0] == -(1 << 31) + 7 and got[-1] == (1 << 31) - 1


def test_bad_arguments_are_refused():
    st = _native.new_status()
    out = ffi.new("int32_t[]", 4)
    a = ffi.new("int64_t[]", 4)
    m = ffi.new("int32_t[]", [1 << 30] * 4)
    s = ffi.new("int32_t[]", [40] * 4)
    assert lib.asr_requant_s64(a, 4, a, m, s, 0, 0, 10, out, st) != lib.ASR_OK     # shift 40
    assert lib.asr_requant_s64(ffi.NULL, 4, a, m, m, 0, 0, 10, out, st) != lib.ASR_OK
    assert lib.asr_requant_s64(a, 4, a, m, m, 0, 10, 0, out, st) != lib.ASR_OK     # lo > hi
