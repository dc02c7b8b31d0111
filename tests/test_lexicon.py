"""The pronunciation lexicon: CMU format, variants, errors with lines."""
import pytest

from asr.errors import LexiconError
from asr.lexicon import load_lexicon


def write(tmp_path, text):
    p = tmp_path / "lex.dict"
    p.write_text(text)
    return str(p)


def test_reads_variants_stress_and_comments(tmp_path):
    lex = load_lexicon(write(tmp_path, ";;; comment\nREAD  R EH1 D\nREAD(2)  R IY1 D\nred R EH D\n"))
    assert sorted(lex.words) == ["read", "red"]
    prons = sorted((w, " ".join(p)) for w, p in lex.prons())
    assert prons == [("read", "R EH D"), ("read", "R IY D"), ("red", "R EH D")]
    # Homophones share a trie node.
    node = 0
    for ph in "R EH D".split():
        node = lex.children[node][lex.labels.index(ph)]
    assert sorted(lex.words[w] for w in lex.words_at[node]) == ["read", "red"]


@pytest.mark.parametrize("text,needle", [
    ("hello\n", ":1: a word needs"),
    ("ok OW K EY\nbad B AE D XX\n", "phone 'XX'"),
    ("ok OW K EY\nw3ird W 3\n", ":2: malformed"),
    ("", "no words"),
])
def test_malformed_lexicons(tmp_path, text, needle):
    with pytest.raises(LexiconError, match=needle):
        load_lexicon(write(tmp_path, text))


def test_binary_and_missing_files(tmp_path):
    p = tmp_path / "bin.dict"
    p.write_bytes(b"\xff\xfe\x00garbage\x00")
    with pytest.raises(LexiconError):
        load_lexicon(str(p))
    with pytest.raises(LexiconError, match="cannot read"):
        load_lexicon(str(tmp_path / "nope.dict"))


def test_restricted_vocabulary(tmp_path):
    lex = load_lexicon(write(tmp_path, "go G OW\nstop S T AA P\nleft L EH F T\n"))
    small = lex.restricted(["go", "stop"])
    assert sorted(small.words) == ["go", "stop"]
    with pytest.raises(LexiconError, match="out-of-vocabulary"):
        lex.restricted(["go", "fly"])
