"""Offline speech recognition with a fixed-point (int8/int16) acoustic model.

    import asr
    rec = asr.Recognizer()            # bundled English model, int8
    print(rec.recognize_file("hello.wav").text)

See README.md for the streaming API and the command-line tools.
"""
from .errors import (AsrError, AudioError, DecoderError, LanguageModelError, LexiconError,
                     ModelFormatError, NativeArgumentError, NativeError, NativeMemoryError,
                     NativeShapeError, UnsupportedKernelError)

__version__ = "0.1.0"

__all__ = ["Recognizer", "Stream", "Result", "Partial", "Word", "EndpointConfig", "Model",
           "AsrError", "AudioError", "DecoderError", "LanguageModelError", "LexiconError",
           "ModelFormatError", "NativeError", "NativeArgumentError", "NativeMemoryError",
           "NativeShapeError", "UnsupportedKernelError"]


def __getattr__(name):
    # Lazy: importing asr must not need the native library (e.g. for asr.text).
    if name in ("Recognizer", "Stream", "Result", "Partial", "Word", "EndpointConfig"):
        from . import stream
        return getattr(stream, name)
    if name == "Model":
        from .model import Model
        return Model
    raise AttributeError("module 'asr' has no attribute %r" % name)
