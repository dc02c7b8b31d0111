"""Hotwords (asr/hotwords.py, asr_decoder_set_word_boost): parsing, the
boost entering the search exactly, zero boosts changing nothing, a boosted
word winning on real speech, and bad input refused."""
import os

import numpy as np
import pytest

import asr
from asr._native import ffi, lib, new_status
from asr.audio import read_audio
from asr.decoder import build_decoder
from asr.errors import DecoderError, NativeShapeError
from asr.hotwords import DEFAULT_BOOST, MAX_SCALE, REFERENCE_PHONES, parse_hotwords, scaled_boost
from asr.lexicon import load_lexicon

from test_decoder import LABELS, files, posteriors   # noqa: F401  (fixture)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "models", "samples", "librivox-0880.wav")


def test_entries_parse():
    got = parse_hotwords(["Kubernetes", "smart mirror 6", ("Bed", 2), "mirror 3", "route 66 1.5"])
    assert got == {"kubernetes": DEFAULT_BOOST, "smart": 6.0, "mirror": 6.0, "bed": 2.0,
                   "route": 1.5, "sixty": 1.5, "six": 1.5}
    for bad in ["one string", [("x", "big")], [("x", float("nan"))], [""], [3]]:
        with pytest.raises(DecoderError):
            parse_hotwords(bad)


def best(dec, lp):
    s = dec.stream()
    s.accept(lp)
    r = s.finish()
    return r.text, r.nbest[0][1]


def test_a_boost_adds_exactly_its_nats_to_the_hypothesis(files):   # noqa: F811
    lex, lm = files
    lp = posteriors("R EH D AH B UH K".split())
    plain = build_decoder(LABELS, lexicon=lex, lm=lm)
    text, score = best(plain, lp)
    boosted = build_decoder(LABELS, lexicon=lex, lm=lm, boosts={"book": 1.5})
    text_b, score_b = best(boosted, lp)
    assert text_b == text
    # "book" is B UH K: 3 phones of REFERENCE_PHONES get that share of the boost
    nats = 1.5 * 3 / REFERENCE_PHONES
    assert score_b == pytest.approx(score + nats * text.split().count("book"), abs=1e-4)


def test_the_boost_scales_with_the_words_shortest_pronunciation(tmp_path):
    assert scaled_boost(3.0, REFERENCE_PHONES) == 3.0
    assert scaled_boost(3.0, REFERENCE_PHONES // 2) == 1.5
    assert scaled_boost(3.0, 40) == 3.0 * MAX_SCALE
    assert scaled_boost(-2.0, REFERENCE_PHONES * 4) == -2.0 * MAX_SCALE
    # "read" is R EH D and R IY D, "a" one phone: the boost that closes a
    # word is the scaled one, whichever pronunciation the search took
    path = tmp_path / "lex.dict"
    path.write_text("read R EH D\nread(2) R IY D\na AH\nhelicopter HH EH L IH K AA P T ER\n")
    lex = load_lexicon(str(path), LABELS)
    for word, phones in (("read", 3), ("a", 1), ("helicopter", 9)):
        seq = {"read": "R IY D", "a": "AH", "helicopter": "HH EH L IH K AA P T ER"}[word]
        lp = posteriors(seq.split())
        plain = build_decoder(LABELS, lexicon=lex)
        boosted = build_decoder(LABELS, lexicon=lex, boosts={word: 2.0})
        (text, score), (text_b, score_b) = best(plain, lp), best(boosted, lp)
        assert text == text_b == word
        assert score_b == pytest.approx(score + scaled_boost(2.0, phones), abs=1e-4)
        assert boosted.boosts == {word: 2.0}


def test_zero_boosts_change_nothing(files):   # noqa: F811
    lex, lm = files
    rng = np.random.default_rng(5)
    lp = np.log(rng.dirichlet(np.ones(len(LABELS)) * 0.3, size=60)).astype(np.float32)
    plain = build_decoder(LABELS, lexicon=lex, lm=lm)
    zero = build_decoder(LABELS, lexicon=lex, lm=lm, boosts={w: 0.0 for w in ("red", "book")})
    a, b = plain.stream(), zero.stream()
    a.accept(lp)
    b.accept(lp)
    ra, rb = a.finish(), b.finish()
    assert ra.nbest == rb.nbest
    assert [(w.word, w.start, w.end, w.conf) for w in ra.words] == \
        [(w.word, w.start, w.end, w.conf) for w in rb.words]


def test_a_boost_turns_a_homophone_around(files):   # noqa: F811
    """'red' and 'read' share R EH D; the LM prefers one, a boost the other."""
    lex, lm = files
    lp = posteriors("R EH D".split())
    plain = best(build_decoder(LABELS, lexicon=lex, lm=lm), lp)[0]
    other = "red" if plain == "read" else "read"
    assert best(build_decoder(LABELS, lexicon=lex, lm=lm, boosts={other: 5.0}), lp)[0] == other


def test_a_hotword_is_recognized_in_real_speech_while_streaming():
    audio = read_audio(SAMPLE)
    plain = asr.Recognizer()
    words = plain.recognize(audio).text.split()
    assert "disposed" not in words          # the word the bundled model misses here
    rec = asr.Recognizer(hotwords=["disposed 3"])     # "disposal" at the default boost
    s = rec.stream()
    for i in range(0, len(audio), 777):
        s.accept(audio[i:i + 777])
    s.finish()
    streamed = " ".join(r.text for r in s.results if r.text).split()
    assert "disposed" in streamed
    assert streamed == rec.recognize(audio).text.split()


def test_an_unknown_hotword_is_pronounced_and_added():
    rec = asr.Recognizer(hotwords=["zorblatt 4"])
    assert "zorblatt" in rec.decoder.lexicon and rec.decoder.lm.lm_id("zorblatt") >= 0
    assert rec.decoder.boosts == {"zorblatt": 4.0}
    rec.add_words([("snarfle", "S N AA R F AH L")])
    assert rec.decoder.boosts == {"zorblatt": 4.0}      # kept by a new decoder


def test_bad_boosts_are_refused(files):   # noqa: F811
    lex, lm = files
    for boosts in ({"red": float("inf")}, {"red": 1e6}, {"red": "x"}):
        with pytest.raises(DecoderError):
            build_decoder(LABELS, lexicon=lex, lm=lm, boosts=boosts)
    with pytest.raises(DecoderError):
        asr.Recognizer(phrases=["turn left"], hotwords=["right"])
    dec = build_decoder(LABELS, lexicon=lex, lm=lm)
    st = new_status()
    arr = ffi.new("float[]", len(dec.lexicon.words) + 1)
    assert lib.asr_decoder_set_word_boost(dec._ptr, arr, len(dec.lexicon.words) + 1, st) == \
        lib.ASR_E_SHAPE
    arr[0] = float("nan")
    assert lib.asr_decoder_set_word_boost(dec._ptr, arr, len(dec.lexicon.words), st) == \
        lib.ASR_E_ARG
    greedy = build_decoder(LABELS, greedy=True)
    assert lib.asr_decoder_set_word_boost(greedy._ptr, ffi.NULL, 0, st) == lib.ASR_E_ARG
    assert lib.asr_decoder_set_word_boost(dec._ptr, ffi.NULL, len(dec.lexicon.words), st) == \
        lib.ASR_OK
    assert issubclass(NativeShapeError, asr.AsrError)


def test_the_report_pads_lists_with_rare_words_nobody_said():
    """tools/hotword_report.py: the list keeps the set's own rare words and
    is padded, reproducibly, with rare lexicon words absent from the
    references, so recall and "the rest" still count the set's own words."""
    from tools.hotword_report import pad_list

    class Lex:
        words = ["the", "cat", "sat", "zebra", "quokka", "axolotl", "narwhal", "okapi", "o'neil"]

    refs = ["the cat sat", "the zebra sat"]
    common = {"the", "cat", "sat"}
    got = pad_list(["zebra"], Lex, common, refs, 4)
    assert got[0] == "zebra" and len(got) == 4 and len(set(got)) == 4
    assert not set(got[1:]) & ({"the", "cat", "sat", "zebra", "o'neil"})
    assert got == pad_list(["zebra"], Lex, common, refs, 4)
    assert pad_list(["zebra"], Lex, common, refs, 0) == ["zebra"]
    with pytest.raises(SystemExit):
        pad_list(["zebra"], Lex, common, refs, 10)
