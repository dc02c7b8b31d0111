"""The only module that touches cffi: owns ``ffi`` and ``lib`` and turns C
error codes into exceptions.

Every C call takes an ``asr_status *`` as its last argument. Use::

    st = new_status()
    check(lib.asr_something(..., st), st)

``check`` picks the exception class from the code the call returned and the
exception keeps it as ``.code``, so callers never choose a class.
"""
from .errors import (AsrError, NativeArgumentError, NativeError, NativeFormatError,
                     NativeIOError, NativeMemoryError, NativeShapeError, UnsupportedKernelError)

try:
    from ._asr_native import ffi, lib
except ImportError as exc:  # pragma: no cover - only without a build
    raise AsrError(
        "the native library asr._asr_native is not built; install the package with "
        "'pip install .' (or run 'python asr/_build.py' in a checkout)") from exc

# The class of each asr_code of native/include/asr.h (tests/native/test_errors.py
# checks that every ASR_E_* constant has one).
ERRORS = {lib.ASR_E_ARG: NativeArgumentError, lib.ASR_E_NOMEM: NativeMemoryError,
          lib.ASR_E_SHAPE: NativeShapeError, lib.ASR_E_UNSUPPORTED: UnsupportedKernelError,
          lib.ASR_E_FORMAT: NativeFormatError, lib.ASR_E_IO: NativeIOError}

# Kernel names come from the library (asr_kernel_name), best last per architecture.
KERNEL_NAMES = {k: ffi.string(lib.asr_kernel_name(k)).decode() for k in range(lib.ASR_KERNEL_COUNT)}
KERNEL_IDS = {name: k for k, name in KERNEL_NAMES.items()}
KERNEL_IDS["auto"] = lib.ASR_KERNEL_AUTO
# The spelling an earlier README gave for sse41, still accepted by kernel_id
# so code written against it keeps working; ASR_KERNEL (C) does not know it.
KERNEL_ALIASES = {"sse4": lib.ASR_KERNEL_SSE41}


def new_status():
    """A fresh ``asr_status`` for one call (owned by the caller: thread-safe)."""
    return ffi.new("asr_status *")


def check(code, st):
    """Return ``code`` when it is ASR_OK, else raise the NativeError subclass
    of ``code`` (``ERRORS``) carrying the C message and ``.code``."""
    if code != lib.ASR_OK:
        msg = ffi.string(st.message).decode("utf-8", "replace") or "error code %d" % code
        raise ERRORS.get(code, NativeError)(msg, code)
    return code


def kernel_id(name):
    """The ``asr_kernel`` number of a kernel name ('auto', 'ref', 'sse41', 'avx2', ...)."""
    if isinstance(name, int):
        return name
    try:
        return KERNEL_IDS[name] if name in KERNEL_IDS else KERNEL_ALIASES[name]
    except KeyError:
        raise NativeArgumentError("unknown kernel %r; known: %s"
                                  % (name, ", ".join(sorted(KERNEL_IDS))), lib.ASR_E_ARG) from None


def available_kernels():
    """Names of the kernels this build and CPU can run, best last."""
    mask = lib.asr_kernels_available()
    return [KERNEL_NAMES[k] for k in sorted(KERNEL_NAMES) if mask & (1 << k)]


def resolve_kernel(name="auto"):
    """The kernel name that ``name`` resolves to (honours the ASR_KERNEL variable)."""
    st = new_status()
    out = ffi.new("int *")
    check(lib.asr_kernel_resolve(kernel_id(name), out, st), st)
    return KERNEL_NAMES[out[0]]


def as_buffer(arr, dtype, ndim=None):
    """Check an array's dtype/contiguity and return ``(cdata pointer, arr)``.

    The array is returned too so the caller keeps it alive for the call."""
    import numpy as np
    if arr.dtype != dtype or not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr, dtype=dtype)
    if ndim is not None and arr.ndim != ndim:
        raise NativeShapeError("expected a %d-D array, got shape %s" % (ndim, arr.shape),
                               lib.ASR_E_SHAPE)
    ctype = {"float32": "float *", "int8": "int8_t *", "int16": "int16_t *",
             "int32": "int32_t *", "int64": "int64_t *"}[np.dtype(dtype).name]
    return ffi.cast(ctype, ffi.from_buffer(arr)), arr
