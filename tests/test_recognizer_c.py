"""The C recognizer (native/src/recognizer.c: network + endpointing +
search) gives the results the Python stream gave before it (the oracle in
tests/stream_oracle.py), field for field, in every decoding mode and for
any chunking; and it refuses bad arguments without crashing."""
import glob
import os

import numpy as np
import pytest

import asr
from asr._native import ffi, lib, new_status
from asr.audio import read_audio
from asr.errors import NativeError
from asr.stream import EndpointConfig

from stream_oracle import OracleStream

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = sorted(glob.glob(os.path.join(ROOT, "models", "samples", "*.wav")))


@pytest.fixture(scope="module")
def audio():
    """The bundled samples end to end with a pause between them, so the
    endpointer cuts several utterances in one stream."""
    parts = []
    for p in SAMPLES:
        parts += [read_audio(p), np.zeros(16000, np.float32)]
    return np.concatenate(parts)


def chunks(x, seed):
    rng = np.random.default_rng(seed)
    i = 0
    while i < len(x):
        n = int(rng.choice([0, 1, 37, 160, 1000, 4321, 16000]))
        yield x[i:i + n]
        i += n


def run(stream, x, seed):
    partials = []
    for c in chunks(x, seed):
        p = stream.accept(c)
        partials.append((p.text, p.endpoint, [r.text for r in p.finals]))
    stream.finish()
    return partials, stream.results


def same(a, b):
    assert [r.text for r in a] == [r.text for r in b]
    for x, y in zip(a, b):
        assert (x.start, x.end, x.nbest, x.conf, x.rejected) == (y.start, y.end, y.nbest, y.conf, y.rejected)
        assert [(w.word, w.start, w.end, w.conf) for w in x.words] == \
               [(w.word, w.start, w.end, w.conf) for w in y.words]


MODES = {
    "int8 + LM": dict(precision="int8"),
    "float, no LM": dict(precision="float", lm=False),
    "greedy": dict(precision="int16", greedy=True),
    "phrases + rejection": dict(precision="int8", phrases=["go forward ten meters", "stop",
                                                           "turn left", "nine eight three"]),
    "no endpointing": dict(precision="int8", endpoint=EndpointConfig(enabled=False)),
    "short utterances": dict(precision="int8", endpoint=EndpointConfig(max_utterance_s=1.5)),
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_c_stream_equals_the_python_oracle(audio, mode):
    rec = asr.Recognizer(**MODES[mode])
    for seed in (1, 2):
        got = run(rec.stream(), audio, seed)
        want = run(OracleStream(rec, rec.sample_rate), audio, seed)
        assert got[0] == want[0]              # partial texts, endpoints, finals per chunk
        same(got[1], want[1])
    assert len(got[1]) >= (1 if mode in ("no endpointing", "phrases + rejection") else 3)


def test_other_rates_and_words_added_midway(audio):
    rec = asr.Recognizer()
    x = read_audio(SAMPLES[0], 44100)
    a, b = rec.stream(44100), OracleStream(rec, 44100)
    a.accept(x[:30000]), b.accept(x[:30000])
    rec.add_words([("zorblatt", "Z AO R B L AE T")])
    a.accept(x[30000:]), b.accept(x[30000:])
    a.finish(), b.finish()
    same(a.results, b.results)


def status_of(call):
    st = new_status()
    code = call(st)
    return code, ffi.string(st.message).decode()


def test_bad_arguments_are_refused():
    rec = asr.Recognizer(lm=False)
    net, dec = rec.network._net, rec.decoder._ptr
    ep = ffi.new("asr_endpoint_opts *", {"enabled": 1, "silence_s": 0.8, "blank_threshold": 0.95,
                                          "max_utterance_s": 30})
    out = ffi.new("asr_recognizer **")
    names = [ffi.new("char[]", b"a")]
    arr = ffi.new("const char *[]", names)
    for args, what in [((ffi.NULL, dec, arr, 1, 0, 0.03, ep, 5, out), "null"),
                       ((net, dec, arr, 1, 0, 0.0, ep, 5, out), "frame shift"),
                       ((net, dec, arr, 1, 0, float("nan"), ep, 5, out), "frame shift"),
                       ((net, dec, arr, 1, 9999, 0.03, ep, 5, out), "blank"),
                       ((net, dec, arr, 1, 0, 0.03, ep, 10 ** 6, out), "nbest"),
                       ((net, dec, ffi.NULL, 3, 0, 0.03, ep, 5, out), "null")]:
        code, msg = status_of(lambda st: lib.asr_recognizer_create(ffi.NULL, *args, st))
        assert code == lib.ASR_E_ARG and what in msg
    for field, value in [("silence_s", 0.0), ("blank_threshold", 1.5), ("max_utterance_s", -1.0),
                         ("silence_s", float("nan"))]:
        bad = ffi.new("asr_endpoint_opts *", {"enabled": 1, "silence_s": 0.8, "blank_threshold": 0.95,
                                               "max_utterance_s": 30})
        setattr(bad, field, value)
        code, msg = status_of(lambda st: lib.asr_recognizer_create(ffi.NULL, net, dec, arr, 1, 0, 0.03,
                                                                   bad, 5, out, st))
        assert code == lib.ASR_E_ARG and "endpoint" in msg


def test_a_stream_refuses_misuse():
    rec = asr.Recognizer(lm=False)
    s = rec.stream()
    n = ffi.new("size_t *")
    r = ffi.new("asr_result *")
    code, msg = status_of(lambda st: lib.asr_rstream_final(s._ptr, 0, r, st))
    assert code == lib.ASR_E_ARG and "result 0 of 0" in msg
    bad = np.full(300, np.nan, np.float32)
    code, msg = status_of(lambda st: lib.asr_rstream_accept_f32(
        s._ptr, ffi.cast("float *", ffi.from_buffer(bad)), 300, n, st))
    assert code == lib.ASR_E_ARG and "finite" in msg
    code, msg = status_of(lambda st: lib.asr_rstream_accept_s16(s._ptr, ffi.NULL, 5, n, st))
    assert code == lib.ASR_E_ARG and "null samples" in msg
    feats = np.zeros((3, rec.model.features.num_filters), np.float32)
    code, msg = status_of(lambda st: lib.asr_rstream_accept_features(
        s._ptr, ffi.cast("float *", ffi.from_buffer(feats)), 3, n, st))
    assert code == lib.ASR_E_ARG and "its own features" in msg
    s.finish()
    code, msg = status_of(lambda st: lib.asr_rstream_finish(s._ptr, n, st))
    assert code == lib.ASR_E_ARG and "finished" in msg
    with pytest.raises(asr.AsrError):
        s.accept(np.zeros(10, np.float32))


def test_words_the_decoder_cannot_name_are_an_error_not_a_crash():
    """A recognizer given fewer names than its decoder has words reports
    the word it cannot name."""
    rec = asr.Recognizer(phrases=["go forward", "stop"])
    ep = ffi.new("asr_endpoint_opts *", {"enabled": 0})
    out = ffi.new("asr_recognizer **")
    st = new_status()
    assert lib.asr_recognizer_create(ffi.NULL, rec.network._net, rec.decoder._ptr, ffi.NULL, 0, rec.blank,
                                     rec.frame_shift_s, ep, 1, out, st) == 0
    core = ffi.gc(out[0], lib.asr_recognizer_free)
    s = ffi.new("asr_rstream **")
    assert lib.asr_rstream_create(core, 0, 0, s, st) == 0
    s = ffi.gc(s[0], lib.asr_rstream_free)
    feats = asr.features.logmel(read_audio(SAMPLES[0]), rec.model.features)
    n = ffi.new("size_t *")
    feats = np.ascontiguousarray(feats)
    assert lib.asr_rstream_accept_features(s, ffi.cast("float *", ffi.from_buffer(feats)),
                                           len(feats), n, st) == 0
    code, msg = status_of(lambda st: lib.asr_rstream_finish(s, n, st))
    assert code == lib.ASR_E_SHAPE and "names 0" in msg


def test_long_chunks_cut_long_utterances_as_short_chunks_do(audio):
    """The max-utterance rule counts the frames of the utterance in
    progress, also after a cut earlier in the same chunk (the former Python
    loop counted those twice and cut one-frame utterances after it)."""
    rec = asr.Recognizer(endpoint=EndpointConfig(max_utterance_s=1.5))
    whole, small = rec.stream(), rec.stream()
    whole.accept(audio)
    whole.finish()
    for i in range(0, len(audio), 160):
        small.accept(audio[i:i + 160])
    small.finish()
    same(whole.results, small.results)
    assert all(r.end - r.start <= 1.5 + 1e-9 for r in whole.results)
    assert min(r.end - r.start for r in whole.results[:-1]) > 1.0


def test_a_frontend_of_another_size_is_refused():
    import dataclasses
    from asr.features import Frontend
    rec = asr.Recognizer(lm=False)
    other = Frontend.get(dataclasses.replace(rec.model.features, num_filters=23, cmn_frames=0))
    ep = ffi.new("asr_endpoint_opts *", {"enabled": 0})
    out = ffi.new("asr_recognizer **")
    code, msg = status_of(lambda st: lib.asr_recognizer_create(
        other._fe, rec.network._net, rec.decoder._ptr, ffi.NULL, 0, rec.blank, 0.03, ep, 1, out, st))
    assert code == lib.ASR_E_SHAPE and "23 values" in msg


def c_strings(strings):
    keep = [ffi.new("char[]", s.encode()) for s in strings]
    return keep, ffi.new("const char *[]", keep)


def vocab_list(v):
    return [ffi.string(lib.asr_vocab_string(v, i)).decode() for i in range(lib.asr_vocab_size(v))]


def test_phrase_grammar_in_c_scores_as_python():
    """asr_grammar_from_phrases is PhraseGrammar: same vocabulary, same
    score for phrases, their prefixes and strangers."""
    from asr.lm import PhraseGrammar
    rng = np.random.default_rng(3)
    words = ["go", "stop", "left", "right", "turn", "Ten", "meters", "back", "one"]
    phrases = [" ".join(rng.choice(words, rng.integers(1, 5))) for _ in range(40)] + ["", "  Stop  "]
    keep, arr = c_strings(phrases)
    lm, voc, st = ffi.new("asr_lm **"), ffi.new("asr_vocab **"), new_status()
    assert lib.asr_grammar_from_phrases(arr, len(phrases), lm, voc, st) == 0, ffi.string(st.message)
    lm, voc = ffi.gc(lm[0], lib.asr_lm_free), ffi.gc(voc[0], lib.asr_vocab_free)
    g = PhraseGrammar(phrases)
    vocab = vocab_list(voc)
    assert vocab == g.vocab
    out = ffi.new("double *")
    tests = [p.lower().split() for p in phrases[:20]] + [p.lower().split()[:-1] for p in phrases[:20]]
    tests += [list(rng.choice([w.lower() for w in words], 3)) for _ in range(20)]
    for sent in tests:
        ids = ffi.new("int32_t[]", [vocab.index(w) for w in sent] or [0])
        assert lib.asr_lm_score(lm, ids, len(sent), 1, 1, out, st) == 0
        assert np.float32(out[0]) == np.float32(g.score(sent)) or out[0] == g.score(sent) == -np.inf
    for bad in ([], ["", "   "]):
        keep, arr = c_strings(bad)
        code, msg = status_of(lambda st: lib.asr_grammar_from_phrases(arr if bad else ffi.NULL, len(bad),
                                                                       ffi.new("asr_lm **"),
                                                                       ffi.new("asr_vocab **"), st))
        assert code == lib.ASR_E_ARG and "non-empty phrase" in msg


def test_phrase_recognizer_from_files_equals_python():
    """asr_recognizer_open with phrases decodes as Recognizer(phrases=)
    (rejection, a Python layer, off), and a phrase word outside the
    lexicon is an error naming it."""
    from asr.resources import default_model_path, find_model_file
    phrases = ["go forward ten meters", "stop", "turn left", "two nine three four zero", "he was not"]
    keep, arr = c_strings(phrases)
    files = ffi.new("asr_recognizer_files *")
    model, lex = ffi.new("char[]", default_model_path("int8").encode()), \
        ffi.new("char[]", find_model_file("en-us.asrlex").encode())
    files.model, files.lexicon, files.phrases, files.n_phrases = model, lex, arr, len(phrases)
    files.kernel = lib.ASR_KERNEL_AUTO
    out, st = ffi.new("asr_recognizer **"), new_status()
    assert lib.asr_recognizer_open(files, out, st) == 0, ffi.string(st.message)
    core = ffi.gc(out[0], lib.asr_recognizer_free)
    py = asr.Recognizer(phrases=phrases, reject=0)
    for path in SAMPLES:
        x = (read_audio(path) * 32768).astype(np.int16)
        s = ffi.new("asr_rstream **")
        assert lib.asr_rstream_create(core, 16000, 0, s, st) == 0
        s = ffi.gc(s[0], lib.asr_rstream_free)
        n = ffi.new("size_t *")
        texts = []
        assert lib.asr_rstream_accept_s16(s, ffi.cast("int16_t *", ffi.from_buffer(x)), len(x), n, st) == 0
        r = ffi.new("asr_result *")
        for i in range(n[0]):
            lib.asr_rstream_final(s, i, r, st)
            texts.append(ffi.string(r.text).decode())
        assert lib.asr_rstream_finish(s, n, st) == 0
        for i in range(n[0]):
            lib.asr_rstream_final(s, i, r, st)
            texts.append(ffi.string(r.text).decode())
        want = py.stream()
        want.accept(x)
        want.finish()
        assert [t for t in texts if t] == [res.text for res in want.results if res.text]
    keep, arr = c_strings(["go zorblatt", "stop"])
    files.phrases, files.n_phrases = arr, 2
    code, msg = status_of(lambda st: lib.asr_recognizer_open(files, out, st))
    assert code == lib.ASR_E_ARG and "zorblatt" in msg
    files.lm = model
    code, msg = status_of(lambda st: lib.asr_recognizer_open(files, out, st))
    assert code == lib.ASR_E_ARG and "one or the other" in msg
