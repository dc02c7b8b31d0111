"""asr/_native.py: one checker turns each C error code into its exception
class with ``.code``; the kernel names are the library's."""
import os
import re

import pytest

import asr
from asr import _native, errors
from asr._native import ffi, lib
from asr.cli import common

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_c_error_code_has_its_class():
    codes = {getattr(lib, n) for n in dir(lib) if n.startswith("ASR_E_")}
    assert codes == set(_native.ERRORS)
    classes = list(_native.ERRORS.values())
    assert len(set(classes)) == len(classes)
    for cls in classes:
        assert issubclass(cls, errors.NativeError) and issubclass(cls, asr.AsrError)


@pytest.mark.parametrize("code", [lib.ASR_E_ARG, lib.ASR_E_NOMEM, lib.ASR_E_SHAPE,
                                  lib.ASR_E_UNSUPPORTED, 99])
def test_check_raises_the_class_of_the_code_with_the_message(code):
    st = _native.new_status()
    st.message = b"what went wrong"
    with pytest.raises(errors.NativeError, match="what went wrong") as exc:
        _native.check(code, st)
    assert exc.value.code == code
    assert type(exc.value) is _native.ERRORS.get(code, errors.NativeError)


def test_check_passes_ok_through():
    assert _native.check(lib.ASR_OK, _native.new_status()) == lib.ASR_OK


def test_a_bad_argument_and_a_missing_kernel_are_told_apart():
    st = _native.new_status()
    out = ffi.new("int *")
    with pytest.raises(errors.NativeArgumentError) as exc:
        _native.check(lib.asr_kernel_resolve(97, out, st), st)
    assert exc.value.code == lib.ASR_E_ARG and isinstance(exc.value, ValueError)
    missing = [k for k in _native.KERNEL_NAMES.values() if k not in _native.available_kernels()]
    for name in missing:       # on x86 the NEON kernels, on ARM the x86 ones
        with pytest.raises(errors.UnsupportedKernelError, match=name) as exc:
            _native.resolve_kernel(name)
        assert exc.value.code == lib.ASR_E_UNSUPPORTED


def test_a_shape_mismatch_is_a_shape_error():
    w = ffi.new("int8_t[]", 8)
    out = ffi.new("int32_t[]", 8)
    st = _native.new_status()
    with pytest.raises(errors.NativeShapeError, match="stride") as exc:
        _native.check(lib.asr_gemm_s8s8s32(lib.ASR_KERNEL_REF, w, 2, 4, 2, w, 1, 4, out, 2, st), st)
    assert exc.value.code == lib.ASR_E_SHAPE


def test_unknown_kernel_names_are_argument_errors():
    with pytest.raises(errors.NativeArgumentError, match="mmx") as exc:
        _native.kernel_id("mmx")
    assert exc.value.code == lib.ASR_E_ARG
    assert _native.kernel_id("sse4") == lib.ASR_KERNEL_SSE41     # the older spelling


def test_kernel_names_are_the_library_names_everywhere():
    names = [_native.KERNEL_NAMES[k] for k in sorted(_native.KERNEL_NAMES)]
    assert names == ["ref", "sse41", "avx2", "avx512vnni", "neon", "neondot"]
    listed = ["auto"] + names
    # The --kernel help of every command and the README's command-line synopsis
    # repeat the list for readers; they must name exactly these.
    p = common.argparse.ArgumentParser()
    common.add_model_options(p)
    help_text = next(a.help for a in p._actions if a.dest == "kernel")
    assert re.findall(r"[a-z0-9]+", help_text.split(":", 1)[1]) == listed
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    assert "[--kernel %s]" % "|".join(listed) in readme


def test_network_on_a_missing_kernel_is_unsupported():
    missing = [k for k in _native.KERNEL_NAMES.values() if k not in _native.available_kernels()]
    if not missing:
        pytest.skip("this machine has every kernel")
    from asr.model import Model
    from asr.network import Network
    model = Model.load(os.path.join(ROOT, "models", "en-us-int8.asrm"))
    with pytest.raises(errors.UnsupportedKernelError, match=missing[0]) as exc:
        Network(model, kernel=missing[0])
    assert exc.value.code == lib.ASR_E_UNSUPPORTED


def test_the_public_header_is_the_api_and_testing_entry_points_are_apart():
    public = "".join(open(os.path.join(ROOT, "native", "include", h), encoding="utf-8").read()
                     for h in ("asr.h", "asr_decoder.h", "asr_files.h"))
    testing = open(os.path.join(ROOT, "native", "src", "asr_testing.h"), encoding="utf-8").read()
    for name in ("asr_gemm_s8s8s32", "asr_gemm_s16s16s64", "asr_gemm_f32", "asr_bench_gemm",
                 "asr_bench_gemm_weights", "asr_bench_clock_ghz", "asr_requant_s64",
                 "asr_logsoftmax_q10"):
        assert name + "(" not in public and name + "(" in testing
        assert callable(getattr(lib, name))      # the cffi module declares them for the tests


def test_limits_and_floors_stated_in_python_are_the_libraries():
    from asr import model, quantize
    assert model._WMAX == {"int8": 127, "int16": 32767} == {
        "int8": lib.ASR_S8_WEIGHT_MAX, "int16": lib.ASR_S16_WEIGHT_MAX}
    assert quantize._WMAX is model._WMAX
    # The Q10 log-softmax saturates at LOGPROB_FLOOR (native/QUANTIZATION.md section 6).
    logits = ffi.new("int32_t[]", [0, -(1 << 30)])
    out = ffi.new("int16_t[]", 2)
    st = _native.new_status()
    _native.check(lib.asr_logsoftmax_q10(logits, 2, out, st), st)
    assert out[1] / 1024.0 == quantize.LOGPROB_FLOOR


def test_quantization_document_is_cited_and_states_the_int8_bound():
    doc = open(os.path.join(ROOT, "native", "QUANTIZATION.md"), encoding="utf-8").read()
    assert "65536 · 16256 = 1,065,353,216" in doc and 65536 * 128 * 127 == 1065353216 < 2 ** 31 - 1
    assert lib.ASR_MAX_K == 65536 and lib.ASR_NARROW_MAX_K == 8192
    for src in ("kernels_ref.c", "net.c", "pack.c", "kernels_x86.inc", "kernels_neon.c",
                "kernels_avx512vnni.c"):
        text = open(os.path.join(ROOT, "native", "src", src), encoding="utf-8").read()
        assert "QUANTIZATION.md" in text, src


def test_a_forbidden_weight_is_refused_once_at_packing_with_its_layer():
    from asr.model import Model
    from asr.network import Network
    model = Model.load(os.path.join(ROOT, "models", "en-us-int8.asrm"))
    model.layers[2].weight[3, 5] = -128
    with pytest.raises(errors.NativeArgumentError, match=r"layer 2: int8 weight \[3\]\[5\] is -128") as exc:
        Network(model, kernel="ref")
    assert exc.value.code == lib.ASR_E_ARG
