"""The exception hierarchy: catch ``AsrError`` to catch everything this package raises."""


class AsrError(Exception):
    """Base class of every error raised by the asr package."""


class NativeError(AsrError):
    """The C library refused a call. ``code`` is its ``asr_code`` (an
    ``ASR_E_*`` constant of native/include/asr.h); ``asr._native.check``
    raises the subclass that names it, so callers never pick the class."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


class NativeArgumentError(NativeError, ValueError):
    """ASR_E_ARG: a null pointer, an unknown enum value or a size out of range."""


class NativeMemoryError(NativeError, MemoryError):
    """ASR_E_NOMEM: the C library could not allocate."""


class NativeShapeError(NativeError, ValueError):
    """ASR_E_SHAPE: dimensions that do not fit together."""


class UnsupportedKernelError(NativeError):
    """ASR_E_UNSUPPORTED: this CPU or build lacks the kernel asked for (e.g.
    ``kernel="avx2"`` on a machine without AVX2)."""


class NativeFormatError(NativeError, ValueError):
    """ASR_E_FORMAT: the C readers (native/include/asr_files.h) refused a
    damaged, truncated or foreign file; the message names the file."""


class NativeIOError(NativeError, OSError):
    """ASR_E_IO: the C readers could not open or read a file."""


class ModelFormatError(AsrError):
    """A model file is truncated, corrupt, of another version, or not a model file."""


class AudioError(AsrError):
    """Audio could not be read or is unusable (empty, not audio, non-finite)."""


class DecoderError(AsrError):
    """The decoder was given inputs it cannot use."""


class LanguageModelError(AsrError):
    """An ARPA language model file is malformed."""


class LexiconError(AsrError):
    """A pronunciation lexicon file is malformed."""


class CrossError(AsrError):
    """Running for another platform failed: a missing cross compiler or qemu,
    a failed build, or a failed emulated run (asr/cross.py)."""


class ServeError(AsrError):
    """A WebSocket client broke the protocol of asr-serve (asr/server.py);
    ``close_code`` is the WebSocket close code the connection ends with."""

    def __init__(self, message, close_code=1008):
        super().__init__(message)
        self.close_code = close_code
