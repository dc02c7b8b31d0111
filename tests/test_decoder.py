"""The decoder on hand-built posteriors where the right answer is known."""
import math

import numpy as np
import pytest

from asr.decoder import build_decoder
from asr._native import ffi, lib, new_status
from asr.errors import DecoderError, LexiconError, NativeError

from helpers import PHONES

LABELS = ["<blk>"] + PHONES
LEX = """\
red R EH D
read R EH D
read(2) R IY D
bed B EH D
bad B AE D
a AH
book B UH K
i AY
"""
ARPA = """
\\data\\
ngram 1=8
ngram 2=3

\\1-grams:
-1.0\t</s>
-99\t<s>\t-0.5
-1.2\ti\t-0.3
-1.3\tread\t-0.2
-1.3\tred\t0.0
-1.5\ta\t-0.2
-1.6\tbook\t0.0
-2.0\tbed\t0.0

\\2-grams:
-0.3\ti read
-0.2\tread a
-0.1\ta book

\\end\\
"""


@pytest.fixture()
def files(tmp_path):
    lex = tmp_path / "lex.dict"
    lex.write_text(LEX)
    lm = tmp_path / "lm.arpa"
    lm.write_text(ARPA)
    return str(lex), str(lm)


def posteriors(seq, frames_per=3, floor=1e-4, confusions=None):
    """Log-probs for a phone sequence: each phone for `frames_per` frames,
    then a blank frame. confusions: {index: {phone: prob}} spreads mass."""
    rows = []
    for i, ph in enumerate(seq):
        dist = {ph: 1.0} if not confusions or i not in confusions else confusions[i]
        for _ in range(frames_per):
            p = np.full(len(LABELS), floor)
            for k, v in dist.items():
                p[LABELS.index(k)] = v
            rows.append(p / p.sum())
        p = np.full(len(LABELS), floor)
        p[0] = 1.0
        rows.append(p / p.sum())
    return np.log(np.array(rows))


def decode(dec, lp, chunks=None):
    s = dec.stream()
    if chunks:
        i = 0
        for n in chunks:
            s.accept(lp[i:i + n])
            i += n
        s.accept(lp[i:])
    else:
        s.accept(lp)
    return s.finish()


def test_greedy_gives_the_phone_string():
    dec = build_decoder(LABELS, greedy=True)
    r = decode(dec, posteriors(["R", "EH", "D"]))
    assert r.text == "R EH D"


def test_lexicon_search_finds_words_and_times(files):
    lex, _ = files
    dec = build_decoder(LABELS, lexicon=lex, lm=False, frame_shift_s=0.03)
    lp = posteriors(["B", "AE", "D", "AH"])
    r = decode(dec, lp)
    assert r.text == "bad a"
    bad, a = r.words
    # B is emitted at frame 0, D at frame 8; AH at frame 12.
    assert bad.start == pytest.approx(0.0) and bad.end == pytest.approx(9 * 0.03)
    assert a.start == pytest.approx(12 * 0.03)
    assert 0.5 < bad.conf <= 1.0


def test_the_lm_changes_what_greedy_and_no_lm_get_wrong(files):
    """The acoustics prefer 'bed' slightly over 'book'; after 'i read a' the
    LM makes 'book' the answer."""
    lex, lm = files
    conf = {5: {"EH": 0.55, "UH": 0.45}, 6: {"D": 0.55, "K": 0.45}}
    lp = posteriors(["AY", "R", "IY", "D", "AH", "EH", "D"], confusions={5: conf[5]})
    lp = posteriors(["AY", "R", "IY", "D", "AH", "B", "EH", "D"],
                    confusions={6: {"EH": 0.55, "UH": 0.45}, 7: {"D": 0.55, "K": 0.45}})
    greedy = decode(build_decoder(LABELS, greedy=True), lp)
    assert greedy.text.endswith("B EH D")
    no_lm = decode(build_decoder(LABELS, lexicon=lex, lm=False), lp)
    assert no_lm.text == "i read a bed"
    with_lm = decode(build_decoder(LABELS, lexicon=lex, lm=lm, lm_weight=1.0), lp)
    assert with_lm.text == "i read a book"
    assert with_lm.nbest[0][0] == "i read a book"


def test_chunking_does_not_change_the_result(files):
    lex, lm = files
    dec = build_decoder(LABELS, lexicon=lex, lm=lm)
    lp = posteriors(["AY", "R", "IY", "D", "AH", "B", "UH", "K"])
    whole = decode(dec, lp)
    for chunks in ([1] * len(lp), [0, 5, 0, 3, 7], [2, 11]):
        r = decode(dec, lp, chunks)
        assert r.text == whole.text
        assert [(w.word, w.start, w.end, w.conf) for w in r.words] == \
               [(w.word, w.start, w.end, w.conf) for w in whole.words]


def test_phrases_restrict_the_output(files):
    lex, _ = files
    dec = build_decoder(LABELS, lexicon=lex, phrases=["read a book", "i read"])
    lp = posteriors(["R", "EH", "D", "AH", "B", "EH", "D"],
                    confusions={5: {"EH": 0.7, "UH": 0.3}, 6: {"D": 0.7, "K": 0.3}})
    assert decode(build_decoder(LABELS, lexicon=lex, lm=False), lp).text.endswith(" a bed")
    assert decode(dec, lp).text == "read a book"
    # Nothing that is not a whole phrase comes out, even when cut short.
    assert decode(dec, lp[:8]).text in ("", "i read")
    with pytest.raises(LexiconError, match="out-of-vocabulary"):
        build_decoder(LABELS, lexicon=lex, phrases=["read the newspaper"])


def test_time_offset_shifts_words(files):
    lex, _ = files
    dec = build_decoder(LABELS, lexicon=lex, lm=False, frame_shift_s=0.03)
    s = dec.stream(time_offset_s=10.0)
    s.accept(posteriors(["B", "AE", "D"]))
    assert s.finish().words[0].start == pytest.approx(10.0)


def test_bad_posteriors_are_refused(files):
    lex, _ = files
    dec = build_decoder(LABELS, lexicon=lex, lm=False)
    s = dec.stream()
    with pytest.raises(DecoderError):
        s.accept(np.zeros((3, 7)))
    with pytest.raises(DecoderError):
        s.accept(np.full((2, len(LABELS)), np.nan))
    s.accept(np.zeros((0, len(LABELS))))
    assert s.finish().text == ""


def test_decoder_options_are_validated(files):
    lex, _ = files
    with pytest.raises(DecoderError):
        build_decoder(LABELS, lexicon=lex, lm=False, beam=0)
    with pytest.raises(DecoderError):
        build_decoder(LABELS, lexicon=lex, lm=False, lm_weight=math.inf)
    with pytest.raises(DecoderError, match="blank"):
        build_decoder(PHONES, lexicon=lex, lm=False)


def _prior(seed=4):
    return np.log(np.random.default_rng(seed).dirichlet(np.ones(len(LABELS)) * 0.5)).astype(np.float32)


def test_the_prior_correction_is_the_frames_minus_weighted_log_priors(files):
    """A decoder with a label prior searches exactly what a decoder without
    one searches on lp - w log prior; weight 0 is no correction at all."""
    lex, lm = files
    rng = np.random.default_rng(11)
    lp = np.log(rng.dirichlet(np.ones(len(LABELS)) * 0.3, size=50)).astype(np.float32)
    prior = _prior()
    for w in (0.0, 0.3, 1.5):
        with_prior = decode(build_decoder(LABELS, lexicon=lex, lm=lm, prior_weight=w,
                                          label_log_prior=prior), lp)
        shifted = decode(build_decoder(LABELS, lexicon=lex, lm=lm), lp - w * prior)
        assert with_prior.nbest == shifted.nbest and with_prior.text == shifted.text
        assert [(x.word, x.start, x.end, x.conf) for x in with_prior.words] == \
            [(x.word, x.start, x.end, x.conf) for x in shifted.words]
    # greedy best path: unchanged, and so are its confidences (posteriors)
    g = decode(build_decoder(LABELS, greedy=True, prior_weight=1.0, label_log_prior=prior), lp)
    g0 = decode(build_decoder(LABELS, greedy=True), lp)
    assert g.text == g0.text and [x.conf for x in g.words] == [x.conf for x in g0.words]


def test_the_prior_survives_new_words_and_bad_priors_are_refused(files):
    lex, lm = files
    prior = _prior()
    dec = build_decoder(LABELS, lexicon=lex, lm=lm, prior_weight=0.4, label_log_prior=prior)
    more = dec.with_words([("beta", ["B", "EY", "T", "AH"])])
    assert more.prior_weight == 0.4 and np.array_equal(more.label_log_prior, prior)
    for bad in (prior[:-1], np.abs(prior), np.full_like(prior, np.nan), np.full_like(prior, -1e4)):
        with pytest.raises((DecoderError, NativeError)):
            build_decoder(LABELS, lexicon=lex, lm=lm, prior_weight=0.4, label_log_prior=bad)
    for w in (-0.1, math.inf, math.nan, lib.ASR_MAX_PRIOR_WEIGHT + 1):
        with pytest.raises(DecoderError):
            build_decoder(LABELS, lexicon=lex, lm=lm, prior_weight=w, label_log_prior=prior)
    st = new_status()
    arr = ffi.new("float[]", len(LABELS) + 1)
    assert lib.asr_decoder_set_label_prior(dec._ptr, arr, len(LABELS) + 1, st) == lib.ASR_E_SHAPE
    assert lib.asr_decoder_set_label_prior(ffi.NULL, arr, len(LABELS), st) == lib.ASR_E_ARG
    assert lib.asr_decoder_set_label_prior(dec._ptr, ffi.NULL, len(LABELS), st) == lib.ASR_OK
    # misuse, setting a prior while a search exists: that search goes on without it, no crash
    plain = build_decoder(LABELS, lexicon=lex, lm=lm, prior_weight=0.4)
    early = plain.stream()
    p = ffi.new("float[]", list(map(float, prior)))
    assert lib.asr_decoder_set_label_prior(plain._ptr, p, len(LABELS), st) == lib.ASR_OK
    lp = np.log(np.random.default_rng(2).dirichlet(np.ones(len(LABELS)), size=20)).astype(np.float32)
    early.accept(lp)
    assert early.finish().text == decode(build_decoder(LABELS, lexicon=lex, lm=lm), lp).text


def test_greedy_times_confidence_and_chunking():
    dec = build_decoder(LABELS, greedy=True, frame_shift_s=0.03)
    lp = posteriors(["R", "EH", "EH"], frames_per=2)      # EH twice: a blank between
    r = decode(dec, lp)
    assert r.text == "R EH EH"
    assert [(round(w.start / 0.03), round(w.end / 0.03)) for w in r.words] == [(0, 2), (3, 5), (6, 8)]
    assert all(0.99 < w.conf <= 1.0 for w in r.words)
    assert decode(dec, lp, [1] * len(lp)).words == r.words
    s = dec.stream()
    s.accept(lp[:4])
    assert s.partial().text == "R EH"           # the open run counts


def test_nbest_and_homophones(files):
    lex, _ = files
    dec = build_decoder(LABELS, lexicon=lex, lm=False, nbest=3)
    r = decode(dec, posteriors(["R", "EH", "D"]))
    assert r.text in ("read", "red")
    texts = [t for t, _ in r.nbest]
    assert sorted(texts[:2]) == ["read", "red"]            # homophones: same score
    assert r.nbest[0][1] == pytest.approx(r.nbest[1][1])
    assert r.words[0].conf == pytest.approx(0.5, abs=0.01)   # split between the two
    assert decode(build_decoder(LABELS, lexicon=lex, lm=False, nbest=0), posteriors(["R"])).nbest == []


def test_long_input_chunked_equals_whole(files):
    """Thousands of frames: the history tree is collected many times over."""
    lex, lm = files
    dec = build_decoder(LABELS, lexicon=lex, lm=lm, beam=8)
    lp = np.concatenate([posteriors(["AY", "R", "IY", "D", "AH", "B", "UH", "K"], frames_per=1)] * 150)
    whole = decode(dec, lp)
    assert whole.text == " ".join(["i read a book"] * 150)
    chunked = decode(dec, lp, list(np.random.default_rng(0).integers(0, 50, 100)))
    assert chunked.words == whole.words


def test_streams_in_threads_match(files):
    import threading
    lex, lm = files
    dec = build_decoder(LABELS, lexicon=lex, lm=lm)
    lps = [posteriors(seq) for seq in (["AY", "R", "IY", "D"], ["B", "AE", "D", "AH"],
                                       ["R", "EH", "D", "AH", "B", "UH", "K"])] * 3
    expected = [decode(dec, lp).text for lp in lps]
    got = [None] * len(lps)

    def run(i):
        for _ in range(20):
            got[i] = decode(dec, lps[i], [3, 1, 4]).text

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(lps))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == expected


def test_missing_bundled_files_are_named(monkeypatch, tmp_path):
    import asr.resources
    monkeypatch.setattr(asr.resources, "model_dirs", lambda: [str(tmp_path)])
    with pytest.raises(DecoderError, match="en-us.asrlex"):
        build_decoder(LABELS)
    (tmp_path / "en-us.asrlex").write_text(LEX)        # the text form is read too
    with pytest.raises(DecoderError, match="en-us.asrlm"):
        build_decoder(LABELS)
    assert build_decoder(LABELS, lm=False).stream() is not None


def test_garbage_arguments_to_the_c_decoder(files):
    from asr._native import ffi, lib, new_status
    lex, lm = files
    dec = build_decoder(LABELS, lexicon=lex, lm=lm)
    n = len(LABELS)
    opts = ffi.new("asr_decoder_opts *", {"beam": 4, "beam_delta": 10, "prune": 5,
                                          "lm_weight": 1, "word_bonus": 0})
    out = ffi.new("asr_decoder **")
    lexp = dec.lexicon.native()
    E = (lib.ASR_E_ARG, lib.ASR_E_SHAPE)
    for args in [(n, 0, lexp, ffi.NULL, ffi.NULL, 3, opts, out),           # word count mismatch
                 (n, 1, lexp, ffi.NULL, ffi.NULL, len(dec.lexicon.words), opts, out),   # other blank
                 (n, 0, lexp, dec.lm.native().ptr, ffi.NULL, len(dec.lexicon.words), opts, out),
                 (n, 0, ffi.NULL, ffi.NULL, ffi.NULL, 0, ffi.NULL, out),
                 (n, 0, ffi.NULL, ffi.NULL, ffi.NULL, 0, opts, ffi.NULL),
                 (1, 0, ffi.NULL, ffi.NULL, ffi.NULL, 0, opts, out),
                 (n, -1, ffi.NULL, ffi.NULL, ffi.NULL, 0, opts, out)]:
        st = new_status()
        assert lib.asr_decoder_create(*args, st) in E
        assert ffi.string(st.message)
    for field, value in (("beam", 0), ("beam_delta", float("nan")), ("prune", -1.0),
                         ("lm_weight", float("inf")), ("word_bonus", float("nan"))):
        bad = ffi.new("asr_decoder_opts *", {"beam": 4, "beam_delta": 10, "prune": 5})
        setattr(bad, field, value)
        assert lib.asr_decoder_create(n, 0, ffi.NULL, ffi.NULL, ffi.NULL, 0, bad, out,
                                      new_status()) == lib.ASR_E_ARG
    s = dec.stream()
    sp = s._ptr
    frames = ffi.new("float[]", [0.0] * n * 2)
    size, dbl = ffi.new("size_t *"), ffi.new("double *")
    words = ffi.new("asr_word[]", 4)
    assert lib.asr_search_accept(ffi.NULL, frames, 1, n, new_status()) == lib.ASR_E_ARG
    assert lib.asr_search_accept(sp, ffi.NULL, 1, n, new_status()) == lib.ASR_E_ARG
    assert lib.asr_search_accept(sp, frames, 1, n - 1, new_status()) == lib.ASR_E_SHAPE
    assert lib.asr_search_accept(sp, frames, 1 << 62, n, new_status()) == lib.ASR_E_ARG
    frames[3] = float("nan")
    st = new_status()
    assert lib.asr_search_accept(sp, frames, 2, n, st) == lib.ASR_E_ARG
    assert b"frame 0, label 3" in ffi.string(st.message)
    assert lib.asr_search_hyp(sp, 0, words, 4, size, dbl, new_status()) == lib.ASR_E_ARG  # not ranked
    assert lib.asr_search_rank(sp, 1, size, new_status()) == 0
    assert lib.asr_search_hyp(sp, size[0], words, 4, size, dbl, new_status()) == lib.ASR_E_ARG
    assert lib.asr_search_hyp(sp, 0, ffi.NULL, 4, size, dbl, new_status()) == lib.ASR_E_ARG
    assert lib.asr_search_rank(ffi.NULL, 1, size, new_status()) == lib.ASR_E_ARG
    assert lib.asr_search_create(ffi.NULL, ffi.new("asr_search **"), new_status()) == lib.ASR_E_ARG
    assert lib.asr_search_frames(sp, ffi.NULL, new_status()) == lib.ASR_E_ARG
    assert s.frames == 0                  # nothing of the refused chunk was used
    lib.asr_search_free(ffi.NULL)
    lib.asr_decoder_free(ffi.NULL)
    # An all -inf frame kills every path: it is skipped, not fatal.
    s.accept(np.full((2, n), -np.inf, dtype=np.float32))
    s.accept(posteriors(["AY", "R", "IY", "D"]))
    assert s.finish().text == "i read"
