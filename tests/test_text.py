import numpy as np
import pytest

from asr.text import ErrorCounts, align, normalize, number_words, wer_interval


@pytest.mark.parametrize("n,words", [(0, "zero"), (13, "thirteen"), (40, "forty"), (42, "forty two"),
                                     (100, "one hundred"), (1905, "one thousand nine hundred five"),
                                     (2000000, "two million")])
def test_number_words(n, words):
    assert number_words(n) == words


def test_normalize():
    assert normalize("Hello, World!  It's 42 o'clock.") == "hello world it's forty two o'clock"
    assert normalize("'quoted' -- dashes") == "quoted dashes"
    assert normalize("") == ""


def test_align_counts():
    assert align("a b c d".split(), "a x c d e".split()) == (1, 0, 1)
    assert align("a b c".split(), []) == (0, 3, 0)
    assert align([], "a b".split()) == (0, 0, 2)
    assert align("the cat sat".split(), "the cat sat".split()) == (0, 0, 0)


def test_error_counts():
    c = ErrorCounts()
    c.add("a b c d", "a x c d e")
    c.add("one two", "one two")
    assert c.ref_words == 6 and c.errors == 2 and c.wer == pytest.approx(2 / 6)
    assert c.ser == 0.5


def test_wer_interval_holds_the_estimate_and_narrows_with_more_utterances():
    rng = np.random.default_rng(3)
    words = rng.integers(3, 20, size=400)
    errors = rng.binomial(words, 0.3)
    wer = errors.sum() / words.sum()
    lo, hi = wer_interval(errors, words)
    assert lo < wer < hi and 0.2 < lo and hi < 0.4
    assert wer_interval(errors, words) == (lo, hi)                 # fixed seed: reproducible
    lo4, hi4 = wer_interval(np.tile(errors, 4), np.tile(words, 4))
    assert hi4 - lo4 < 0.7 * (hi - lo)                             # 4x the data: about half as wide
    # a paired difference: equal systems give exactly zero; one more error in
    # every utterance gives exactly that many over the words in every draw
    assert wer_interval(errors, words, base_errors=errors) == (0.0, 0.0)
    d_lo, d_hi = wer_interval(errors + 1, words, base_errors=errors)
    assert 0 < d_lo <= len(words) / words.sum() <= d_hi
    assert wer_interval([], []) == (0.0, 0.0)
    with pytest.raises(ValueError):
        wer_interval([1, 2], [3])
