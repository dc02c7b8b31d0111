"""The C readers of native/include/asr_files.h from Python: the model, binary
LM, binary lexicon and WAV files parsed by the library itself, as a C
program without Python reads them. The Python readers (asr/model.py, lm.py,
lexicon.py, audio.py) stay the main path; these exist so tests can hold
the two to the same results and fuzzers can reach the C parsers.

Each loader takes a path (str) or the file's bytes; a damaged file raises
:class:`asr.errors.NativeFormatError` naming the file, an unreadable one
:class:`asr.errors.NativeIOError`.
"""
import numpy as np

from . import _native
from ._native import ffi, lib


def _vocab_list(v):
    """The strings of an ``asr_vocab *``."""
    return [ffi.string(lib.asr_vocab_string(v, i)).decode("utf-8")
            for i in range(lib.asr_vocab_size(v))]


def _call(fn, source, name, *args):
    """fn(path, *args, st) or fn_memory(data, n, name, *args, st)."""
    st = _native.new_status()
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        _native.check(getattr(lib, fn + "_memory")(data, len(data), name.encode(), *args, st), st)
    else:
        _native.check(getattr(lib, fn)(str(source).encode(), *args, st), st)


class CModel:
    """A model loaded by ``asr_model_load``: ``labels``, ``blank``,
    ``frame_shift_s`` (seconds), ``features`` (dict of asr_feature_config),
    ``label_log_prior`` (None when the file has none) and ``forward(feats)``
    (log-probabilities, as Network.forward)."""

    def __init__(self, source, kernel="auto", name="<memory>"):
        out = ffi.new("asr_model **")
        _call("asr_model_load", source, name, _native.kernel_id(kernel), out)
        self._m = ffi.gc(out[0], lib.asr_model_free)
        self.labels = _vocab_list(lib.asr_model_labels(self._m))
        self.blank = lib.asr_model_blank(self._m)
        self.frame_shift_s = lib.asr_model_frame_shift(self._m)
        c = lib.asr_model_features(self._m)
        self.features = {k: getattr(c, k) for k in (
            "sample_rate", "win_s", "hop_s", "win_len", "hop_len", "nfft", "num_filters", "low_hz",
            "high_hz", "preemph", "log_floor", "cmn_frames", "cmn_prior_frames")}
        self.features["window"] = ffi.string(c.window).decode()
        self.features["cmn_prior"] = [c.cmn_prior[i] for i in range(c.n_cmn_prior)]
        n = [ffi.new("uint32_t *"), ffi.new("uint32_t *"), ffi.new("int *")]
        st = _native.new_status()
        _native.check(lib.asr_net_info(lib.asr_model_net(self._m), *n, st), st)
        self.n_labels = n[0][0]
        prior = lib.asr_model_label_log_prior(self._m)
        self.label_log_prior = (None if prior == ffi.NULL else
                                np.array([prior[i] for i in range(len(self.labels))], np.float32))

    def forward(self, feats):
        """Log-probabilities (frames x labels, float32) of a whole utterance
        of log-mel features (frames x num_filters)."""
        feats = np.ascontiguousarray(feats, dtype=np.float32)
        st = _native.new_status()
        s = ffi.new("asr_stream **")
        _native.check(lib.asr_stream_create(lib.asr_model_net(self._m), s, st), st)
        s = ffi.gc(s[0], lib.asr_stream_free)
        need = ffi.new("size_t *")
        _native.check(lib.asr_stream_pending(s, feats.shape[0], 1, need, st), st)
        out = np.empty((need[0], self.n_labels), dtype=np.float32)
        got = ffi.new("size_t *")
        _native.check(lib.asr_stream_forward(
            s, ffi.cast("float *", ffi.from_buffer(feats)), feats.shape[0], 1,
            ffi.cast("float *", ffi.from_buffer(out)), need[0], got, st), st)
        return out[:got[0]]


class CLanguageModel:
    """A binary LM loaded by ``asr_lm_load``: ``vocab`` (list of words) and
    ``score(words)`` (natural log, via asr_lm_score)."""

    def __init__(self, source, name="<memory>"):
        lm, vocab = ffi.new("asr_lm **"), ffi.new("asr_vocab **")
        _call("asr_lm_load", source, name, lm, vocab)
        self.ptr = ffi.gc(lm[0], lib.asr_lm_free)
        self._vocab = ffi.gc(vocab[0], lib.asr_vocab_free)
        self.vocab = _vocab_list(self._vocab)

    def lm_id(self, word):
        return lib.asr_vocab_find(self._vocab, word.encode("utf-8"))

    def score(self, words, bos=True, eos=True):
        ids = [self.lm_id(w) for w in words]
        arr = ffi.new("int32_t[]", ids or [0])
        out = ffi.new("double *")
        st = _native.new_status()
        _native.check(lib.asr_lm_score(self.ptr, arr, len(ids), int(bos), int(eos), out, st), st)
        return out[0]


def vocab(strings):
    """An ``asr_vocab *`` of a list of strings (freed with the object)."""
    keep = [ffi.new("char[]", s.encode("utf-8")) for s in strings]
    out = ffi.new("asr_vocab **")
    st = _native.new_status()
    _native.check(lib.asr_vocab_create(ffi.new("char *[]", keep) if keep else ffi.NULL,
                                       len(keep), out, st), st)
    return ffi.gc(out[0], lib.asr_vocab_free)


class CLexicon:
    """A binary lexicon loaded by ``asr_lexicon_load`` for the labels of
    ``model`` (a :class:`CModel`, or a list of label strings): ``words`` and
    ``n_nodes`` (of the phone trie)."""

    def __init__(self, source, model, name="<memory>"):
        lex, words = ffi.new("asr_lexicon **"), ffi.new("asr_vocab **")
        labels = lib.asr_model_labels(model._m) if isinstance(model, CModel) else vocab(model)
        _call("asr_lexicon_load", source, name, labels, lex, words)
        self.model = model
        self.ptr = ffi.gc(lex[0], lib.asr_lexicon_free)
        self._words = ffi.gc(words[0], lib.asr_vocab_free)
        self.words = _vocab_list(self._words)
        n = ffi.new("size_t *")
        st = _native.new_status()
        _native.check(lib.asr_lexicon_info(self.ptr, n, st), st)
        self.n_nodes = n[0]


def decoder(model, lexicon, lm=None, **opts):
    """An ``asr_decoder *`` (freed with the returned object) built by
    ``asr_decoder_create_words`` with the defaults (asr_decoder_opts_default), overridden
    by ``opts``. Keep the model, lexicon and LM alive while it is used."""
    o = ffi.new("asr_decoder_opts *")
    lib.asr_decoder_opts_default(o)
    for k, v in opts.items():
        setattr(o, k, v)
    out = ffi.new("asr_decoder **")
    st = _native.new_status()
    _native.check(lib.asr_decoder_create_words(
        lib.asr_model_labels(model._m), lexicon.ptr, lexicon._words,
        lm.ptr if lm is not None else ffi.NULL, lm._vocab if lm is not None else ffi.NULL,
        o, out, st), st)
    return ffi.gc(out[0], lib.asr_decoder_free)


def parse_wav(data):
    """(info dict, mono float32 samples) of a WAV file's bytes, by
    ``asr_wav_parse``."""
    data = bytes(data)
    info = ffi.new("asr_wav_info *")
    st = _native.new_status()
    _native.check(lib.asr_wav_parse(data, len(data), info, ffi.NULL, 0, st), st)
    out = np.empty(info.n_frames, dtype=np.float32)
    _native.check(lib.asr_wav_parse(data, len(data), info,
                                    ffi.cast("float *", ffi.from_buffer(out)), len(out), st), st)
    return _wav_info(info), out


def read_wav(path):
    """(info dict, samples) of a WAV file, by ``asr_wav_read``."""
    info = ffi.new("asr_wav_info *")
    samples = ffi.new("float **")
    st = _native.new_status()
    _native.check(lib.asr_wav_read(str(path).encode(), info, samples, st), st)
    try:
        out = np.frombuffer(ffi.buffer(samples[0], 4 * info.n_frames), dtype=np.float32).copy()
    finally:
        lib.asr_wav_free(samples[0])
    return _wav_info(info), out


def _wav_info(info):
    return {k: getattr(info, k) for k in ("sample_rate", "channels", "bits", "format", "n_frames",
                                          "truncated")}
