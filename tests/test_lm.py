"""ARPA reading (back-off included), the phrase grammar, the LM builder."""
import gzip
import math
import os
import sys

import pytest

from asr.errors import LanguageModelError
from asr.lm import PhraseGrammar, load_arpa, write_arpa

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))

ARPA = """
\\data\\
ngram 1=5
ngram 2=3
ngram 3=1

\\1-grams:
-1.0\t</s>
-99\t<s>\t-0.4
-0.7\ta\t-0.3
-0.9\tb\t-0.2
-1.1\t<unk>

\\2-grams:
-0.2\t<s> a\t-0.1
-0.5\ta b\t-0.05
-0.6\tb </s>

\\3-grams:
-0.1\t<s> a b

\\end\\
"""
L10 = math.log(10)


def write(tmp_path, text, name="lm.arpa"):
    p = tmp_path / name
    if name.endswith(".gz"):
        with gzip.open(p, "wt") as f:
            f.write(text)
    else:
        p.write_text(text)
    return str(p)


def test_scores_with_back_off(tmp_path):
    lm = load_arpa(write(tmp_path, ARPA, "lm.arpa.gz"))
    s = lm.start()
    lp, s = lm.advance(s, "a")
    assert lp == pytest.approx(-0.2 * L10)                   # bigram <s> a
    lp, s = lm.advance(s, "b")
    assert lp == pytest.approx(-0.1 * L10)                   # trigram <s> a b
    lp, s2 = lm.advance(s, "a")                              # (a b) a: unseen
    # bow(a b) + P(a | b) = -0.05 + bow(b) + P(a) = -0.05 - 0.2 - 0.7
    assert lp == pytest.approx((-0.05 - 0.2 - 0.7) * L10)
    assert lm.end(s) == pytest.approx((-0.05 - 0.6) * L10)   # bow(a b) + P(</s> | b)
    # Unknown words score as <unk> (with the back-offs of their context).
    lp, _ = lm.advance(lm.start(), "zebra")
    assert lp == pytest.approx((-0.4 - 1.1) * L10)
    assert lm.score(["a", "b"]) == pytest.approx((-0.2 - 0.1 - 0.05 - 0.6) * L10)


@pytest.mark.parametrize("bad,needle", [
    ("hello world\n", "no \\\\data"),
    (ARPA.replace("ngram 2=3", "ngram 2=4"), "header says 4 2-grams"),
    (ARPA.replace("-0.5\ta b\t-0.05", "-0.5\ta"), "fields"),
    (ARPA.replace("-0.9\tb", "x.9\tb"), "bad number"),
    (ARPA.replace("-0.9\tb", "0.5\tb"), "impossible"),
    (ARPA.replace("\\end\\", ""), "truncated"),
    (ARPA.replace("\\3-grams:", "\\7-grams:"), "7-grams"),
    (ARPA.replace("-1.0\t</s>\n", "").replace("ngram 1=5", "ngram 1=4"), "</s>"),
])
def test_malformed_files_are_refused_with_a_line(tmp_path, bad, needle):
    with pytest.raises(LanguageModelError, match=needle):
        load_arpa(write(tmp_path, bad))


def test_unreadable_files(tmp_path):
    with pytest.raises(LanguageModelError, match="cannot read"):
        load_arpa(str(tmp_path / "missing.arpa"))
    p = tmp_path / "broken.arpa.gz"
    p.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(LanguageModelError):
        load_arpa(str(p))


def test_write_then_read_round_trip(tmp_path):
    lm = load_arpa(write(tmp_path, ARPA))
    out = str(tmp_path / "again.arpa.gz")
    write_arpa(out, lm.grams)
    again = load_arpa(out)
    for words in (["a", "b"], ["b", "a", "zebra"], []):
        assert again.score(words) == pytest.approx(lm.score(words))


def test_phrase_grammar():
    g = PhraseGrammar(["go forward", "go back", "stop"])
    s = g.start()
    lp, s = g.advance(s, "go")
    assert lp == pytest.approx(-math.log(2))
    assert g.end(s) == float("-inf")
    lp, s = g.advance(s, "back")
    assert g.end(s) == pytest.approx(0.0)
    assert g.advance(g.start(), "back")[0] == float("-inf")
    with pytest.raises(LanguageModelError):
        PhraseGrammar(["", "  "])


def test_built_lm_is_normalized(tmp_path):
    import build_lm
    sents = [s.split() for s in ["go forward ten meters", "turn left", "turn right", "go back",
                                 "go forward two meters", "stop", "turn left now"] * 3]
    grams = build_lm.build(sents, order=3, min_count=(1, 1, 2))
    path = str(tmp_path / "built.arpa")
    write_arpa(path, grams)
    lm = load_arpa(path)
    vocab = [w for w in lm.vocab if w != "<s>"]
    for ctx in [("<s>",), ("<s>", "go"), ("turn",), ("forward", "ten"), ("zzz",)]:
        total = sum(math.exp(lm.advance(ctx, w)[0]) for w in vocab)
        assert total == pytest.approx(1.0, abs=1e-4), ctx
    assert lm.score(["turn", "left"]) > lm.score(["left", "turn"])
