import pytest

from asr.text import ErrorCounts, align, normalize, number_words


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
