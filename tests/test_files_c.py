"""The C readers of native/include/asr_files.h (through asr/cfiles.py)
against the Python readers: the same network outputs bit for bit, the same
LM scores, the same lexicon and decoder results; WAV parsing against
soundfile; and damaged files refused with an error, never a crash."""
import hashlib
import io
import json
import os
import struct

import numpy as np
import pytest
import soundfile as sf

from asr import cfiles
from asr._native import ffi, lib, new_status, check
from asr.audio import read_audio
from asr.decoder import build_decoder
from asr.errors import AsrError, NativeFormatError, NativeIOError
from asr.features import logmel
from asr.lexicon import Lexicon, load_lexicon, save_binary as save_lexicon
from asr.lexicon import load_binary as load_lexicon_binary
from asr.lm import load_binary as load_lm_binary, parse_arpa, save_binary as save_lm
from asr.model import Model
from asr.network import Network

from helpers import random_float_model, random_feats, resign

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "models")
SAMPLES = sorted(os.path.join(MODELS, "samples", f)
                 for f in os.listdir(os.path.join(MODELS, "samples")) if f.endswith(".wav"))
PRECISIONS = ("int8", "int16", "float")


def model_path(precision):
    return os.path.join(MODELS, "en-us-%s.asrm" % precision)


@pytest.fixture(scope="module")
def sample_feats():
    """Log-mel features of every bundled sample (the models share one
    feature configuration)."""
    cfg = Model.load(model_path("int8")).features
    return [logmel(read_audio(p, cfg.sample_rate), cfg) for p in SAMPLES]


@pytest.fixture(scope="module")
def c_model():
    return cfiles.CModel(model_path("int8"))


@pytest.fixture(scope="module")
def c_lm():
    return cfiles.CLanguageModel(os.path.join(MODELS, "en-us.asrlm"))


@pytest.fixture(scope="module")
def py_lm():
    return load_lm_binary(os.path.join(MODELS, "en-us.asrlm"))


# ------------------------------------------------------------------ model

@pytest.mark.parametrize("precision", PRECISIONS)
def test_model_logprobs_bit_identical(precision, sample_feats):
    py = Model.load(model_path(precision))
    net = Network(py)
    c = cfiles.CModel(model_path(precision))
    assert c.labels == py.labels
    assert c.blank == py.labels.index("<blk>")
    assert c.frame_shift_s == py.frame_shift_s
    for feats in sample_feats:
        a, b = net.forward(feats), c.forward(feats)
        assert a.shape == b.shape and a.shape[0] > 0
        assert np.array_equal(a, b)


def test_model_feature_config(c_model):
    cfg = Model.load(model_path("int8")).features
    f = c_model.features
    for k in ("sample_rate", "win_s", "hop_s", "win_len", "hop_len", "nfft", "num_filters",
              "low_hz", "high_hz", "preemph", "log_floor", "window", "cmn_frames",
              "cmn_prior_frames"):
        assert f[k] == getattr(cfg, k), k
    assert f["cmn_prior"] == list(cfg.cmn_prior)


def test_model_padding_and_kernels(tmp_path):
    """A model whose layers give asymmetric padding, on every kernel this
    machine has: the same outputs as the Python-built network."""
    m = random_float_model(seed=3, dilations=(2, 3))
    path = str(tmp_path / "m.asrm")
    m.save(path)
    feats = random_feats(m, 50, seed=1)
    for kernel in ("ref", "auto"):
        assert np.array_equal(cfiles.CModel(path, kernel).forward(feats),
                              Network(m, kernel).forward(feats))


def test_model_missing_file(tmp_path):
    with pytest.raises(NativeIOError, match="nope.asrm"):
        cfiles.CModel(str(tmp_path / "nope.asrm"))


# --------------------------------------------------------------------- LM

def test_lm_scores_identical(c_lm, py_lm):
    assert c_lm.vocab == py_lm.vocab
    rng = np.random.default_rng(0)
    words = py_lm.vocab
    sentences = [["the", "cat", "sat", "on", "the", "mat"], ["go", "forward", "ten", "meters"],
                 ["zzzunknownzzz", "the"], []]
    sentences += [[words[i] for i in rng.integers(0, len(words), size=rng.integers(1, 12))]
                  for _ in range(200)]
    native = py_lm.native()
    for s in sentences:
        for bos, eos in ((True, True), (False, False), (True, False)):
            ids = [py_lm.lm_id(w) for w in s]
            assert c_lm.score(s, bos, eos) == native.score(ids, bos, eos)
    for s in sentences[:20]:
        assert c_lm.score(s) == pytest.approx(py_lm.score(s), abs=1e-3)


# ---------------------------------------------------------------- lexicon

def test_lexicon_same_words_and_trie(c_model):
    path = os.path.join(MODELS, "en-us.asrlex")
    c = cfiles.CLexicon(path, c_model)
    py = load_lexicon(path, c_model.labels)
    assert c.words == py.words
    n = ffi.new("size_t *")
    st = new_status()
    check(lib.asr_lexicon_info(py.native(), n, st), st)
    assert c.n_nodes == n[0]


def test_lexicon_relabelled(tmp_path):
    """A lexicon written for other labels is mapped by phone name, words
    renumbered in first-pronounced order, as load_lexicon does."""
    labels = ["<blk>", "AA", "B", "K", "T"]
    lex = Lexicon.from_prons([("cab", ["K", "AA", "B"]), ("unused", ["T"]), ("bat", ["B", "AA", "T"]),
                              ("tab", ["T", "AA", "B"])], labels)
    lex = Lexicon([e for e in lex.entries if e[0] != 1], lex.words, labels)  # "unused": no prons
    path = str(tmp_path / "l.asrlex")
    save_lexicon(lex, path)
    other = ["T", "<blk>", "B", "AA", "K", "X"]
    c = cfiles.CLexicon(path, other)
    py = load_lexicon(path, other)
    assert c.words == py.words == ["cab", "bat", "tab"]
    n = ffi.new("size_t *")
    st = new_status()
    check(lib.asr_lexicon_info(py.native(), n, st), st)
    assert c.n_nodes == n[0]
    with pytest.raises(NativeFormatError, match="not a model label"):
        cfiles.CLexicon(path, ["<blk>", "AA", "B", "K"])


# ---------------------------------------------------------------- decoder

def _search(dec, logprobs, nbest=5):
    """[(word ids, score)] of the final ranking of a search over logprobs."""
    st = new_status()
    s = ffi.new("asr_search **")
    check(lib.asr_search_create(dec, s, st), st)
    s = ffi.gc(s[0], lib.asr_search_free)
    lp = np.ascontiguousarray(logprobs, dtype=np.float32)
    check(lib.asr_search_accept(s, ffi.cast("float *", ffi.from_buffer(lp)), lp.shape[0],
                                lp.shape[1], st), st)
    n = ffi.new("size_t *")
    check(lib.asr_search_rank(s, 1, n, st), st)
    out = []
    buf = ffi.new("asr_word[]", 256)
    for r in range(min(n[0], nbest)):
        nw, score = ffi.new("size_t *"), ffi.new("double *")
        check(lib.asr_search_hyp(s, r, buf, 256, nw, score, st), st)
        out.append(([(buf[i].id, buf[i].start, buf[i].end, buf[i].conf) for i in range(nw[0])],
                    score[0]))
    return out


def test_decoder_same_results(c_model, c_lm, sample_feats):
    c_lex = cfiles.CLexicon(os.path.join(MODELS, "en-us.asrlex"), c_model)
    c_dec = cfiles.decoder(c_model, c_lex, c_lm)
    py_dec = build_decoder(c_model.labels, frame_shift_s=c_model.frame_shift_s)
    assert c_lex.words == py_dec.lexicon.words
    texts = []
    for feats in sample_feats:
        lp = c_model.forward(feats)
        a, b = _search(py_dec._ptr, lp), _search(c_dec, lp)
        assert a == b and a
        texts.append(" ".join(c_lex.words[w[0]] for w in b[0][0]))
        stream = py_dec.stream()
        stream.accept(lp)
        assert stream.finish().text == texts[-1]
    assert any(texts)


def test_decoder_without_lm(c_model):
    c_lex = cfiles.CLexicon(os.path.join(MODELS, "en-us.asrlex"), c_model)
    assert cfiles.decoder(c_model, c_lex, None, beam=8) is not None


# -------------------------------------------------------------------- WAV

WAV_CASES = [("PCM_U8", 8000, 1), ("PCM_16", 16000, 1), ("PCM_24", 44100, 1), ("PCM_32", 16000, 1),
             ("FLOAT", 22050, 1), ("PCM_16", 16000, 2), ("PCM_24", 8000, 3), ("FLOAT", 48000, 2),
             ("PCM_U8", 11025, 5), ("PCM_32", 32000, 2)]


def _tone(rate, channels, n, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    x = np.stack([0.5 * np.sin(2 * np.pi * (220 + 110 * c) * t) for c in range(channels)], axis=1)
    return np.clip(x + 0.1 * rng.standard_normal(x.shape), -1, 0.999)


@pytest.mark.parametrize("fmt", ["WAV", "WAVEX"])
@pytest.mark.parametrize("subtype,rate,channels", WAV_CASES)
def test_wav_against_soundfile(tmp_path, fmt, subtype, rate, channels):
    x = _tone(rate, channels, 1001, seed=channels)
    path = str(tmp_path / "a.wav")
    sf.write(path, x, rate, subtype=subtype, format=fmt)
    ref, ref_rate = sf.read(path, dtype="float32", always_2d=True)
    want = ref[:, 0] if channels == 1 else ref.mean(axis=1, dtype=np.float32)
    with open(path, "rb") as f:
        info, got = cfiles.parse_wav(f.read())
    assert info["sample_rate"] == ref_rate and info["channels"] == channels
    assert info["n_frames"] == len(ref) and not info["truncated"]
    if channels == 1:
        assert np.array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-7)
    info2, got2 = cfiles.read_wav(path)
    assert info2 == info and np.array_equal(got2, got)


def _wav(fmt_body, data, extra_chunks=b"", data_size=None):
    fmt = b"fmt " + struct.pack("<I", len(fmt_body)) + fmt_body
    dchunk = b"data" + struct.pack("<I", len(data) if data_size is None else data_size) + data
    body = b"WAVE" + fmt + extra_chunks + dchunk
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _fmt(channels=1, rate=16000, bits=16, tag=1):
    align = channels * bits // 8
    return struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)


def test_wav_odd_chunk_padding_and_unknown_chunks():
    pcm = np.array([0, 1000, -1000, 32767, -32768], dtype="<i2").tobytes()
    odd = b"LIST" + struct.pack("<I", 3) + b"abc" + b"\0"      # odd size, one pad byte
    junk = b"junk" + struct.pack("<I", 4) + b"wxyz"
    info, got = cfiles.parse_wav(_wav(_fmt(), pcm, odd + junk))
    ref, _ = sf.read(io.BytesIO(_wav(_fmt(), pcm, odd + junk)), dtype="float32")
    assert np.array_equal(got, ref)


def test_wav_data_larger_than_file():
    pcm = np.arange(100, dtype="<i2").tobytes()
    info, got = cfiles.parse_wav(_wav(_fmt(), pcm + b"\x07", data_size=1000))
    assert info["truncated"] == 1 and info["n_frames"] == 100
    assert np.array_equal(got, np.arange(100, dtype=np.float32) / 32768)


@pytest.mark.parametrize("data,match", [
    (b"", "not a RIFF"), (b"RIFF\0\0\0\0WAVX", "not a RIFF"),
    (_wav(_fmt(bits=12), b""), "12-bit"), (_wav(_fmt(channels=0), b""), "channels"),
    (_wav(_fmt(rate=0), b""), "rate"), (_wav(_fmt(tag=2), b""), "not PCM"),
    (_wav(_fmt(bits=16, tag=3), b""), "float"),
    (_wav(struct.pack("<HHIIHH", 1, 2, 16000, 64000, 2, 16), b""), "block align"),
    (b"RIFF\0\0\0\0WAVE" + b"data\4\0\0\0abcd", "before the fmt"),
    (b"RIFF\0\0\0\0WAVE" + b"fmt \x10\0\0\0" + _fmt(), "no data"),
    (b"RIFF\0\0\0\0WAVEfmt \x40\0\0\0" + _fmt(), "past the end"),
    (_wav(struct.pack("<HHIIHHH", 0xFFFE, 1, 16000, 32000, 2, 16, 22) + b"\0" * 6 + b"\1\0" + b"\0" * 14,
          b""), "sub-format"),
])
def test_wav_refused(data, match):
    with pytest.raises(NativeFormatError, match=match):
        cfiles.parse_wav(data)


def test_wav_damage_never_crashes():
    rng = np.random.default_rng(1)
    good = _wav(_fmt(channels=2), np.arange(64, dtype="<i2").tobytes(),
                b"LIST" + struct.pack("<I", 5) + b"hello\0")
    cases = [good[:k] for k in range(len(good))]
    for _ in range(300):
        b = bytearray(good)
        for _ in range(rng.integers(1, 4)):
            b[rng.integers(0, len(b))] = rng.integers(0, 256)
        cases.append(bytes(b))
    for data in cases:
        try:
            info, got = cfiles.parse_wav(data)
        except NativeFormatError:
            continue
        assert len(got) == info["n_frames"]


def test_wav_read_missing_file(tmp_path):
    with pytest.raises(NativeIOError, match="cannot open"):
        cfiles.read_wav(str(tmp_path / "none.wav"))


# ------------------------------------------------------- damaged containers

ARPA = """
\\data\\
ngram 1=5
ngram 2=3

\\1-grams:
-1.0\t<s>\t-0.3
-0.7\t</s>
-0.9\ta\t-0.2
-1.1\tb\t-0.1
-2.0\t<unk>

\\2-grams:
-0.2\t<s> a
-0.4\ta b
-0.3\tb </s>

\\end\\
"""


@pytest.fixture(scope="module")
def small_files(tmp_path_factory):
    """A small model, LM and lexicon, as bytes, with their C loaders and
    Python loaders (each a function of bytes that raises on refusal)."""
    d = tmp_path_factory.mktemp("small")
    m = random_float_model(seed=5, hidden=16)
    m.label_log_prior = np.log(np.random.default_rng(5).dirichlet(np.ones(len(m.labels)))).astype(np.float32)
    m.save(str(d / "m.asrm"))
    save_lm(parse_arpa(ARPA), str(d / "l.asrlm"))
    lex = Lexicon.from_prons([("cab", ["K", "AA", "B"]), ("bat", ["B", "AA", "T"])], m.labels)
    save_lexicon(lex, str(d / "x.asrlex"))
    labels = m.labels

    def py_file(loader, suffix):
        def load(data):
            p = str(d / ("t" + suffix))
            with open(p, "wb") as f:
                f.write(data)
            return loader(p)
        return load

    kinds = {
        "model": (open(str(d / "m.asrm"), "rb").read(), lambda b: cfiles.CModel(b, "ref"),
                  lambda b: Model.from_bytes(b)),
        "lm": (open(str(d / "l.asrlm"), "rb").read(), cfiles.CLanguageModel,
               py_file(load_lm_binary, ".asrlm")),
        "lexicon": (open(str(d / "x.asrlex"), "rb").read(), lambda b: cfiles.CLexicon(b, labels),
                    py_file(load_lexicon_binary, ".asrlex")),
    }
    return kinds


KINDS = ("model", "lm", "lexicon")


def _refused(load, data):
    try:
        load(data)
    except NativeFormatError as exc:
        assert "<memory>" in str(exc)
        return str(exc)
    return None


@pytest.mark.parametrize("kind", KINDS)
def test_good_small_files_load(small_files, kind):
    data, c, py = small_files[kind]
    c(data)
    py(data)


@pytest.mark.parametrize("kind", KINDS)
def test_truncated_refused(small_files, kind):
    data, c, _ = small_files[kind]
    cuts = sorted(set(list(range(0, 80)) + list(range(0, len(data), max(1, len(data) // 97)))
                      + [len(data) - k for k in range(1, 40)]))
    for k in cuts:
        msg = _refused(c, data[:k])
        assert msg and ("truncated" in msg or "bad magic" in msg or "unexpected" in msg), (k, msg)
    assert "unexpected bytes" in _refused(c, data + b"\0")


@pytest.mark.parametrize("kind", KINDS)
def test_bit_flips(small_files, kind):
    """Flips without a new checksum: refused. With one (tools/fuzz's
    with_checksum): refused or loaded, exactly when Python refuses or loads."""
    data, c, py = small_files[kind]
    rng = np.random.default_rng(7)
    for _ in range(60):
        b = bytearray(data)
        pos = int(rng.integers(0, len(b) - 32))
        b[pos] ^= 1 << int(rng.integers(0, 8))
        msg = _refused(c, bytes(b))
        assert msg and ("checksum" in msg or "bad magic" in msg or "version" in msg
                        or "truncated" in msg or "unexpected" in msg), msg
        body = bytes(b[:-32])
        signed = body + hashlib.sha256(body).digest()
        c_ok = _refused(c, signed) is None
        try:
            py(signed)
            py_ok = True
        except AsrError:
            py_ok = False
        assert c_ok == py_ok, (pos, _refused(c, signed))


def _raw(data, header_bytes, version=1, magic=None):
    """A container with the header replaced by raw bytes, data kept, checksum right."""
    _, hlen, dlen = struct.unpack_from("<IIQ", data, 8)
    start = 24 + hlen + ((-(24 + hlen)) % 64)
    body = data[start:start + dlen]
    pre = (magic or data[:8]) + struct.pack("<IIQ", version, len(header_bytes), dlen) + header_bytes
    pre += b"\0" * ((-len(pre)) % 64)
    full = pre + body
    return full + hashlib.sha256(full).digest()


def _header(data):
    _, hlen, _ = struct.unpack_from("<IIQ", data, 8)
    return data[24:24 + hlen]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("junk,match", [
    (b"{", "does not parse"), (b"", "does not parse"), (b"[]", "tensor table"),
    (b'{"tensors": {}} x', "does not parse"), (b'{"a": "\\ud800"}', "does not parse"),
    (b'{"a": "\\x"}', "does not parse"), (b'{"a": 01}', "does not parse"),
    (b'{"a": "\xff"}', "does not parse"), (b"[" * 200 + b"]" * 200, "does not parse"),
    (b'{"tensors": {}}', "header"), (b'{"tensors": 3}', "tensor table"),
])
def test_bad_json_refused(small_files, kind, junk, match):
    data, c, py = small_files[kind]
    assert match in _refused(c, _raw(data, junk))
    with pytest.raises(AsrError):
        py(_raw(data, junk))


@pytest.mark.parametrize("kind", KINDS)
def test_json_escapes_and_nan_parse(small_files, kind):
    """The same header re-written with every string escaped as \\uXXXX and
    a NaN in an unread field still loads (Python's json writes NaN)."""
    data, c, _ = small_files[kind]
    h = json.loads(_header(data))
    h["note"] = float("nan")
    text = json.dumps(h, ensure_ascii=True).replace('"format"', '"\\u0066ormat"')
    c(_raw(data, text.encode()))


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_magic_and_version(small_files, kind):
    data, c, _ = small_files[kind]
    assert "bad magic" in _refused(c, b"XXXX" + data[4:])
    assert "version 2" in _refused(c, _raw(data, _header(data), version=2))
    other = {"model": "lm", "lm": "lexicon", "lexicon": "model"}[kind]
    assert "bad magic" in _refused(c, small_files[other][0])


def _edit_tensors(data, fn):
    return resign(data, edit_header=lambda h: fn(h["tensors"]))


TENSOR_EDITS = [
    ("offset past the end", lambda t, k: t[k].update(offset=1 << 40)),
    ("offset unaligned", lambda t, k: t[k].update(offset=t[k]["offset"] + 4)),
    ("offset negative", lambda t, k: t[k].update(offset=-64)),
    ("nbytes wrong", lambda t, k: t[k].update(nbytes=t[k]["nbytes"] + 1)),
    ("shape huge", lambda t, k: t[k].update(shape=[1 << 31, 1 << 31], nbytes=0)),
    ("shape negative", lambda t, k: t[k].update(shape=[-1])),
    ("shape float", lambda t, k: t[k].update(shape=[2.5])),
    ("shape too deep", lambda t, k: t[k].update(shape=[1] * 9)),
    ("dtype unknown", lambda t, k: t[k].update(dtype="float64")),
    ("dtype other", lambda t, k: t[k].update(dtype="int8" if t[k]["dtype"] != "int8" else "uint8",
                                             nbytes=int(np.prod(t[k]["shape"])))),
    ("missing", lambda t, k: t.pop(k)),
    ("not an object", lambda t, k: t.update({k: 3})),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("what,edit", TENSOR_EDITS, ids=[e[0] for e in TENSOR_EDITS])
def test_tensor_entries_refused(small_files, kind, what, edit):
    data, c, py = small_files[kind]
    names = sorted(json.loads(_header(data))["tensors"])
    for k in names:
        bad = _edit_tensors(data, lambda t: edit(t, k))
        msg = _refused(c, bad)
        assert msg, (k, what)
        if what != "shape float":       # Python's int() truncates 2.5; C refuses it
            with pytest.raises(AsrError):
                py(bad)


def test_model_header_edits_refused(small_files):
    data, c, py = small_files["model"]
    edits = [
        lambda h: h.update(format="asrlm"), lambda h: h.update(layers=[]),
        lambda h: h["layers"][0].update(in_dim=7), lambda h: h["layers"][0].update(act="tanh"),
        lambda h: h["layers"][-1].update(act="relu"), lambda h: h["layers"][0].update(kernel=0),
        lambda h: h["layers"][0].update(kernel=1.5), lambda h: h["layers"][1].update(stride=99),
        lambda h: h["layers"][0].update(dtype="int8"), lambda h: h.update(labels=h["labels"][:-1]),
        lambda h: h.update(precision="int4"),
        lambda h: h["features"].update(num_filters=41), lambda h: h["features"].update(cmn_frames=5),
        lambda h: h.pop("features"), lambda h: h["normalization"].update(mean="nope"),
        lambda h: h["layers"][0].pop("weight"),
    ]
    for i, e in enumerate(edits):
        bad = resign(data, edit_header=e)
        assert _refused(c, bad), i
        with pytest.raises(AsrError):
            py(bad)
    # Python coerces these (str(1), a negative window, a list as window
    # name) and fails only later; C refuses them at load (asr_files.h).
    for e in (lambda h: h.update(labels=[1] * len(h["labels"])),
              lambda h: h["features"].update(win_s=-1),
              lambda h: h["features"].update(window=["x"])):
        assert _refused(c, resign(data, edit_header=e))


def test_label_prior_loaded_and_damage_refused(small_files):
    """The optional label_log_prior tensor: both loaders read the same
    values; a wrong length, a positive or NaN log prior is refused by both."""
    data, c, py = small_files["model"]
    assert np.array_equal(c(data).label_log_prior, py(data).label_log_prior)
    assert py(data).label_log_prior.shape == (len(py(data).labels),)
    gone = resign(data, edit_header=lambda h: h.pop("label_log_prior"))
    assert c(gone).label_log_prior is None and py(gone).label_log_prior is None

    def set_value(v):
        def edit(h, body):
            off = h["tensors"][h["label_log_prior"]]["offset"]
            body[off + 8:off + 12] = struct.pack("<f", v)
        return edit

    for v in (0.5, float("nan"), -1e6):
        bad = resign(data, edit_body=set_value(v))
        assert "log prior" in _refused(c, bad), v
        with pytest.raises(AsrError):
            py(bad)
    short = resign(data, edit_header=lambda h: h["tensors"][h["label_log_prior"]].update(
        shape=[3], nbytes=12))
    assert _refused(c, short)
    with pytest.raises(AsrError):
        py(short)


def test_nonfinite_weights_refused(small_files):
    data, c, py = small_files["model"]

    def nan_weight(h, body):
        off = h["tensors"][h["layers"][0]["weight"]]["offset"]
        body[off:off + 4] = struct.pack("<f", float("nan"))

    bad = resign(data, edit_body=nan_weight)
    assert "non-finite" in _refused(c, bad)
    with pytest.raises(AsrError):
        py(bad)


def test_lm_and_lexicon_header_edits_refused(small_files):
    def ids_out_of_vocab(h, body):
        off = h["tensors"]["ids.2"]["offset"]
        body[off:off + 4] = struct.pack("<i", 99)

    data, c, py = small_files["lm"]
    for bad in (resign(data, edit_header=lambda h: h.update(order=0)),
                resign(data, edit_header=lambda h: h.update(order=3)),
                resign(data, edit_header=lambda h: h.update(vocab=5)),
                resign(data, edit_header=lambda h: h.update(format="asrlex")),
                resign(data, edit_body=ids_out_of_vocab)):
        assert _refused(c, bad)
        with pytest.raises(AsrError):
            py(bad)

    def bad_start(h, body):
        off = h["tensors"]["pron_start"]["offset"]
        body[off + 4:off + 8] = struct.pack("<i", 0)

    def blank_phone(h, body):
        off = h["tensors"]["phones"]["offset"]
        body[off:off + 4] = struct.pack("<i", 0)

    data, c, py = small_files["lexicon"]
    for bad in (resign(data, edit_body=bad_start), resign(data, edit_body=blank_phone),
                resign(data, edit_header=lambda h: h.update(labels="AA")),
                resign(data, edit_header=lambda h: h.update(format="asrm"))):
        assert _refused(c, bad)
        with pytest.raises(AsrError):
            py(bad)


def test_api_version():
    assert lib.asr_api_version() == lib.ASR_API_VERSION == 4
