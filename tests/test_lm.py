"""ARPA reading (back-off included), the phrase grammar, the LM builder."""
import gzip
import math

import numpy as np
import pytest

from asr._native import ffi, lib, new_status
from asr.errors import LanguageModelError
from asr.lm import PhraseGrammar, load_arpa, parse_arpa, write_arpa


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
    (ARPA.replace("\\3-grams:", "\\7-grams:"), ":19: 7-grams"),
    (ARPA.replace("ngram 3=1", "ngram 3=1\nngram 4=0\nngram 5=0\nngram 6=0"), "orders 1..5"),
    (ARPA.replace("-0.5\ta b\t-0.05", "-0.5\ta zz\t-0.05"), ":16: word 'zz'"),
    (ARPA.replace("-0.6\tb </s>", "-0.5\ta b"), ":17: 2-gram listed twice"),
    (ARPA.replace("-0.9\tb\t-0.2", "-0.9\tb\tnan"), ":11: (bad number|impossible)"),
    (ARPA.replace("-99\t<s>\t-0.4\n", "-99\tc\t-0.4\n").replace("<s> a", "c a"), "lack <s>"),
    (ARPA.replace("-1.0\t</s>\n", "").replace("ngram 1=5", "ngram 1=4"), "</s>"),
])
def test_malformed_files_are_refused_with_a_line(tmp_path, bad, needle):
    with pytest.raises(LanguageModelError, match=needle):
        load_arpa(write(tmp_path, bad))


def c_score(lm, words, bos=True, eos=True):
    return lm.native().score([lm.lm_id(w) for w in words], bos, eos)


ARPA4 = """
some free text before the data section
\\data\\
ngram 1=6
ngram 2=5
ngram 3=3
ngram 4=2

\\1-grams:
-1.0\t</s>
-99\t<s>\t-0.4
-0.7\ta\t-0.3
-0.9\tb\t-0.2
-1.2\tc\t-0.25
-1.1\t<unk>\t-0.1

\\2-grams:
-0.2\t<s> a\t-0.1
-0.5\ta b\t-0.05
-0.6\tb </s>
-0.3\tb c\t-0.15
-0.4\tc a\t-0.01

\\3-grams:
-0.1\t<s> a b\t-0.02
-0.25\ta b c\t-0.03
-0.35\tb c a\t-0.04

\\4-grams:
-0.05\t<s> a b c
-0.15\ta b c a

\\end\\
"""


@pytest.mark.parametrize("text", [ARPA, ARPA4])
def test_c_scores_equal_the_python_scorer(tmp_path, text):
    lm = load_arpa(write(tmp_path, text))
    vocab = ["a", "b", "c", "</s>", "zebra", "<s>"]
    rng = np.random.default_rng(1)
    for _ in range(300):
        words = [vocab[i] for i in rng.integers(0, len(vocab), rng.integers(0, 7))]
        bos, eos = bool(rng.integers(2)), bool(rng.integers(2))
        assert c_score(lm, words, bos, eos) == pytest.approx(lm.score(words, bos, eos), abs=1e-4)


def test_four_gram_back_off_by_hand(tmp_path):
    lm = load_arpa(write(tmp_path, ARPA4))
    assert lm.order == 4
    # <s> a b c: the 4-gram; then a after (a b c): 4-gram "a b c a".
    assert c_score(lm, ["a", "b", "c", "a"], eos=False) == pytest.approx(
        (-0.2 - 0.1 - 0.05 - 0.15) * L10, abs=1e-5)
    # c after (<s> a b) a: no "a b c"... context (b, a) unknown: bow(a) + P(c|a)
    # = -0.3 + P(c) = -0.3 - 1.2.
    assert c_score(lm, ["a", "b", "a", "c"], eos=False) == pytest.approx(
        (-0.2 - 0.1 + (-0.02 - 0.05 - 0.2 - 0.7) + (-0.3 - 1.2)) * L10, abs=1e-5)


def test_missing_prefixes_become_contexts(tmp_path):
    """A 3-gram whose 2-gram prefix is absent still counts (context-only entry)."""
    text = ARPA.replace("ngram 3=1", "ngram 3=2").replace(
        "-0.1\t<s> a b\n", "-0.1\t<s> a b\n-0.3\tb a b\n")
    lm = load_arpa(write(tmp_path, text))
    assert lm.score(["b", "a", "b"], eos=False) == pytest.approx(
        (-0.4 - 0.9) * L10 + (-0.2 - 0.7) * L10 - 0.3 * L10)
    for words in (["b", "a", "b"], ["b", "a", "a"], ["a", "b", "a", "b"]):
        assert c_score(lm, words) == pytest.approx(lm.score(words), abs=1e-4)


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


def test_unigram_model_and_no_unk(tmp_path):
    lm = load_arpa(write(tmp_path, "\\data\\\nngram 1=3\n\n\\1-grams:\n-0.3\t</s>\n"
                                    "-99\t<s>\n-0.2\thi\n\\end\\\n"))
    assert c_score(lm, ["hi", "hi"]) == pytest.approx(-0.7 * L10, abs=1e-5)
    assert c_score(lm, ["ho"]) == float("-inf") == lm.score(["ho"])


def test_phrase_grammar_in_c():
    g = PhraseGrammar(["go forward", "go back", "stop"])
    for words in (["go", "back"], ["go"], ["stop"], ["back"], [], ["stop", "stop"]):
        assert g.native().score([g.lm_id(w) for w in words]) == pytest.approx(g.score(words))


def test_garbage_arguments_to_the_c_lm():
    out = ffi.new("asr_lm **")
    counts = ffi.new("size_t[]", [3, 1])
    ids = ffi.new("int32_t[]", [0, 1, 2, 1, 2])
    lp = ffi.new("float[]", [-1.0, -99.0, -0.5, -0.2])
    bo = ffi.new("float[]", [0.0, -0.1, 0.0, 0.0])
    st = new_status()
    assert lib.asr_lm_create_arpa(2, counts, ids, lp, bo, 3, 1, 0, -1, out, st) == 0, ffi.string(st.message)
    good = out[0]
    d = ffi.new("double *")
    assert lib.asr_lm_score(good, ffi.new("int32_t[]", [2, 7, -5]), 3, 1, 1, d, new_status()) == 0
    assert d[0] == float("-inf")                   # unknown ids, no <unk>
    assert lib.asr_lm_score(good, ffi.NULL, 2, 1, 1, d, new_status()) == lib.ASR_E_ARG
    assert lib.asr_lm_score(ffi.NULL, ids, 1, 1, 1, d, new_status()) == lib.ASR_E_ARG
    lib.asr_lm_free(good)
    bad = [
        (0, counts, ids, lp, bo, 3, 1, 0, -1),             # order 0
        (6, counts, ids, lp, bo, 3, 1, 0, -1),             # order too high
        (2, ffi.NULL, ids, lp, bo, 3, 1, 0, -1),
        (2, counts, ids, lp, bo, 4, 1, 0, -1),             # vocab != unigrams
        (2, counts, ids, lp, bo, 3, 1, 1, -1),             # <s> == </s>
        (2, counts, ids, lp, bo, 3, 1, 0, 5),              # <unk> out of range
        (2, counts, ffi.new("int32_t[]", [0, 0, 2, 1, 2]), lp, bo, 3, 1, 0, -1),   # duplicate
        (2, counts, ffi.new("int32_t[]", [0, 1, 2, 1, 9]), lp, bo, 3, 1, 0, -1),   # id range
        (2, counts, ids, ffi.new("float[]", [-1.0, 3.0, -0.5, -0.2]), bo, 3, 1, 0, -1),
        (2, counts, ids, lp, ffi.new("float[]", [0.0, float("nan"), 0.0, 0.0]), 3, 1, 0, -1),
        (2, ffi.new("size_t[]", [3, 1 << 40]), ids, lp, bo, 3, 1, 0, -1),
    ]
    for args in bad:
        st = new_status()
        assert lib.asr_lm_create_arpa(*args, out, st) == lib.ASR_E_ARG, args
        assert out[0] == ffi.NULL and ffi.string(st.message)
    assert lib.asr_lm_create_arpa(2, counts, ids, lp, bo, 3, 1, 0, -1, ffi.NULL, new_status()) == lib.ASR_E_ARG
    end = ffi.new("float[]", [float("-inf"), 0.0])
    frm, wrd, to = (ffi.new("int32_t[]", v) for v in ([0, 0], [0, 0], [1, 1]))
    arc = ffi.new("float[]", [-0.5, -0.5])
    assert lib.asr_lm_create_grammar(2, end, 2, frm, wrd, to, arc, 1, out, new_status()) == lib.ASR_E_ARG
    assert lib.asr_lm_create_grammar(2, end, 1, frm, wrd, ffi.new("int32_t[]", [5]), arc, 1, out,
                                     new_status()) == lib.ASR_E_ARG
    assert lib.asr_lm_create_grammar(0, end, 0, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL, 1, out,
                                     new_status()) == lib.ASR_E_ARG
    assert lib.asr_lm_create_grammar(2, end, 1, frm, wrd, to, arc, 1, out, new_status()) == 0
    lib.asr_lm_free(out[0])
    lib.asr_lm_free(ffi.NULL)


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
    from tools import build_lm
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


def test_build_lm_command(tmp_path):
    """Lexicon vocabulary, --exclude, --oov drop, the size target; the
    result loads in C and scores like the Python reader."""
    from tools import build_lm
    text = tmp_path / "text.txt"
    text.write_text("\n".join(["go forward", "go back now", "turn left", "stop the car",
                               "turn right now", "go forward two meters"] * 5 + ["fly away"]) + "\n")
    excl = tmp_path / "test.txt"
    excl.write_text("stop the car\n")
    lex = tmp_path / "lex.dict"
    lex.write_text("go G OW\nforward F AO R W ER D\nback B AE K\nnow N AW\nturn T ER N\n"
                   "left L EH F T\nright R AY T\nstop S T AA P\nthe DH AH\ncar K AA R\n"
                   "two T UW\nmeters M IY T ER Z\n")
    out = str(tmp_path / "lm.arpa.gz")
    assert build_lm.main([str(text), "-o", out, "--lexicon", str(lex), "--exclude", str(excl),
                          "--oov", "drop", "--lexicon-out", str(tmp_path / "out.lex"),
                          "--max-mb", "0.0005"]) == 0
    lm = load_arpa(out)
    assert "fly" not in lm.word_id and "car" not in lm.word_id      # dropped / excluded
    assert "car" not in (tmp_path / "out.lex").read_text()
    for words in (["go", "forward"], ["turn", "now"], ["zzz"]):
        assert c_score(lm, words) == pytest.approx(lm.score(words), abs=1e-4)


def test_build_lm_leaves_out_quotations_of_held_out_text(tmp_path):
    """--exclude-overlap N drops every sentence sharing a run of N words with
    a held-out sentence (a test sentence quoted inside longer text), keeps
    the rest, and several --lexicon files form one vocabulary."""
    from tools import build_lm
    held = "he was not an ill disposed young man"
    text = tmp_path / "text.txt"
    text.write_text("\n".join(["they said he was not an ill disposed fellow",   # 6 words shared
                               "he was not an ill man",                          # 5 shared: kept
                               "a young man went home", "he was not home"] * 3) + "\n")
    excl = tmp_path / "held.txt"
    excl.write_text(held + "\n")
    lex1 = tmp_path / "a.lex"
    lex1.write_text("he HH IY\nwas W AA Z\nnot N AA T\nan AE N\nill IH L\nman M AE N\n"
                    "a AH\nyoung Y AH NG\n")
    lex2 = tmp_path / "b.lex"
    lex2.write_text("went W EH N T\nhome HH OW M\nthey DH EY\nsaid S EH D\ndisposed D IH S P OW Z D\n"
                    "fellow F EH L OW\nman M AE N\n")
    out = str(tmp_path / "lm.arpa")
    args = [str(text), "-o", out, "--lexicon", str(lex1), "--lexicon", str(lex2),
            "--exclude", str(excl), "--lexicon-out", str(tmp_path / "out.lex")]
    assert build_lm.main(args + ["--exclude-overlap", "6"]) == 0
    lm = load_arpa(out)
    assert "fellow" not in lm.word_id and "said" not in lm.word_id
    assert {"ill", "man", "went", "home"} <= set(lm.word_id)
    assert (tmp_path / "out.lex").read_text().count("man M AE N") == 1
    assert build_lm.main(args) == 0                                  # exact matches only
    assert "fellow" in load_arpa(out).word_id


def test_extra_lm_text_from_dictionary_and_jargon_files(tmp_path, monkeypatch):
    """tools/corpus/lm_texts.py keeps GCIDE quotations and definitions without
    headwords, editorial marks or attributions, and Jargon File entry bodies."""
    from tools.corpus import lm_texts
    gcide = tmp_path / "gcide.dict.dz"
    with gzip.open(gcide, "wt") as f:
        f.write("00-database-short\n   Some banner text here\n\n"
                " Begin file 1 of 26:  Letter A\n\n"
                "Affect \\Af*fect\"\\, v. t. [L. affectus.]\n"
                "   1. To act upon; to produce an effect upon.\n      [1913 Webster]\n\n"
                "            The climate affected their health and spirits.\n"
                "                                                  --Macaulay.\n"
                "      [1913 Webster]\n\n"
                "   Syn: influence; move; touch.\n")
    jargon = tmp_path / "jargon.txt.gz"
    with gzip.open(jargon, "wt") as f:
        f.write(":gobble: vt.\n\n   1. To consume, usu.: used with {up} in a sentence.\n")
    monkeypatch.setattr(lm_texts, "GCIDE", str(gcide))
    monkeypatch.setattr(lm_texts, "JARGON", str(jargon))
    monkeypatch.setattr(lm_texts, "WORDNET", str(tmp_path / "no-wordnet"))
    lex = {w: ["X"] for w in ("to act upon produce an effect the climate affected their health and "
                              "spirits consume used with up in a sentence").split()}
    out = tmp_path / "extra.txt"
    counts = lm_texts.build(str(out), lex, str(tmp_path / "extra.lex"))
    lines = out.read_text().splitlines()
    assert lines == ["to act upon", "to produce an effect upon",
                     "the climate affected their health and spirits",
                     "used with up in a sentence"]
    assert counts["gcide"] == 3 and counts["jargon"] == 1 and counts["wordnet-glosses"] == 0
    assert "climate X" in (tmp_path / "extra.lex").read_text()
