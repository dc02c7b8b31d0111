"""The exception hierarchy: catch ``AsrError`` to catch everything this package raises."""


class AsrError(Exception):
    """Base class of every error raised by the asr package."""


class NativeError(AsrError):
    """The C library refused a call (bad argument, shape, or allocation failure)."""


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
