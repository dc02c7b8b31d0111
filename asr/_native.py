"""The only module that touches cffi: owns ``ffi`` and ``lib`` and turns C
error codes into exceptions.

Every C call takes an ``asr_status *`` as its last argument. Use::

    st = new_status()
    check(lib.asr_something(..., st), st)
"""
from .errors import AsrError, NativeError

try:
    from ._asr_native import ffi, lib
except ImportError as exc:  # pragma: no cover - only without a build
    raise AsrError(
        "the native library asr._asr_native is not built; install the package with "
        "'pip install .' (or run 'python asr/_build.py' in a checkout)") from exc

PATH_NAMES = {lib.ASR_PATH_REF: "ref", lib.ASR_PATH_SSE41: "sse41", lib.ASR_PATH_AVX2: "avx2",
              lib.ASR_PATH_AVX512VNNI: "avx512vnni", lib.ASR_PATH_NEON: "neon",
              lib.ASR_PATH_NEON_DOT: "neondot"}
PATH_IDS = {name: pid for pid, name in PATH_NAMES.items()}
PATH_IDS["auto"] = lib.ASR_PATH_AUTO
PATH_IDS["sse4"] = lib.ASR_PATH_SSE41   # the spelling of the asr-rtf --kernel option


def new_status():
    """A fresh ``asr_status`` for one call (owned by the caller: thread-safe)."""
    return ffi.new("asr_status *")


def check(code, st, exc_class=NativeError):
    """Raise ``exc_class`` carrying the C message when ``code`` is not ASR_OK."""
    if code != lib.ASR_OK:
        msg = ffi.string(st.message).decode("utf-8", "replace") or "error code %d" % code
        raise exc_class(msg)
    return code


def path_id(name):
    """Kernel path number for a name ('auto', 'ref', 'sse41', 'avx2', ...)."""
    if isinstance(name, int):
        return name
    try:
        return PATH_IDS[name]
    except KeyError:
        raise NativeError("unknown kernel path %r; known: %s"
                          % (name, ", ".join(sorted(PATH_IDS)))) from None


def available_paths():
    """Names of the kernel paths this build and CPU can run, best last."""
    mask = lib.asr_paths_available()
    return [PATH_NAMES[p] for p in sorted(PATH_NAMES) if mask & (1 << p)]


def resolve_path(name="auto"):
    """The path name that ``name`` resolves to (honours the ASR_KERNEL variable)."""
    st = new_status()
    out = ffi.new("int *")
    check(lib.asr_path_resolve(path_id(name), out, st), st)
    return PATH_NAMES[out[0]]


def as_buffer(arr, dtype, ndim=None):
    """Check an array's dtype/contiguity and return ``(cdata pointer, arr)``.

    The array is returned too so the caller keeps it alive for the call."""
    import numpy as np
    if arr.dtype != dtype or not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr, dtype=dtype)
    if ndim is not None and arr.ndim != ndim:
        raise NativeError("expected a %d-D array, got shape %s" % (ndim, arr.shape))
    ctype = {"float32": "float *", "int8": "int8_t *", "int16": "int16_t *",
             "int32": "int32_t *", "int64": "int64_t *"}[np.dtype(dtype).name]
    return ffi.cast(ctype, ffi.from_buffer(arr)), arr
