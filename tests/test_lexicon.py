"""The pronunciation lexicon: CMU format, variants, errors with lines, the
C phone trie."""
import gzip

import pytest

from asr._native import ffi, lib, new_status
from asr.errors import LexiconError
from asr.lexicon import DEFAULT_LABELS, load_lexicon


def write(tmp_path, text):
    p = tmp_path / "lex.dict"
    p.write_text(text)
    return str(p)


def test_reads_variants_stress_and_comments(tmp_path):
    lex = load_lexicon(write(tmp_path, ";;; comment\nREAD  R EH1 D\nREAD(2)  R IY1 D\nred R EH D\n"))
    assert sorted(lex.words) == ["read", "red"]
    prons = sorted((w, " ".join(p)) for w, p in lex.prons())
    assert prons == [("read", "R EH D"), ("read", "R IY D"), ("red", "R EH D")]
    # Homophones share trie nodes: root, R, R-EH, R-EH-D, R-IY, R-IY-D.
    assert trie_nodes(lex) == 6


def trie_nodes(lex):
    n = ffi.new("size_t *")
    assert lib.asr_lexicon_info(lex.native(), n, new_status()) == 0
    return n[0]


def test_inline_comments_gzip_and_pocketsphinx_style(tmp_path):
    p = tmp_path / "lex.dict.gz"
    with gzip.open(p, "wt") as f:
        f.write("# header\nd'artagnan D AH0 T AE1 NG Y AH0 N # foreign\na AH\na(2) EY\n")
    lex = load_lexicon(str(p))
    assert sorted(lex.prons()) == [("a", ["AH"]), ("a", ["EY"]),
                                   ("d'artagnan", "D AH T AE NG Y AH N".split())]
    assert trie_nodes(lex) == 1 + 8 + 2


@pytest.mark.parametrize("text,needle", [
    ("hello\n", ":1: a word needs"),
    ("ok OW K EY\nbad B AE D XX\n", ":2: phone 'XX'"),
    (";;; x\n\nok OW K EY\nb <blk>\n", ":4: malformed"),
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


def test_garbage_arguments_to_the_c_lexicon():
    st = new_status()
    out = ffi.new("asr_lexicon **")
    word = ffi.new("int32_t[]", [0, 1])
    start = ffi.new("uint32_t[]", [0, 2, 3])
    phones = ffi.new("int32_t[]", [3, 4, 5])
    n = len(DEFAULT_LABELS)
    assert lib.asr_lexicon_create(n, 0, 2, 2, word, start, phones, out, st) == 0
    lib.asr_lexicon_free(out[0])
    bad_calls = [
        (n, 0, 2, 2, ffi.NULL, start, phones, out),                       # NULL array
        (n, 0, 2, 2, word, start, phones, ffi.NULL),                      # NULL out
        (n, n, 2, 2, word, start, phones, out),                           # blank out of range
        (n, 0, 1, 2, word, start, phones, out),                           # word id >= n_words
        (n, 0, 2, 2, word, ffi.new("uint32_t[]", [0, 0, 3]), phones, out),  # empty pron
        (n, 0, 2, 2, word, start, ffi.new("int32_t[]", [3, 0, 5]), out),   # the blank as a phone
        (n, 0, 2, 2, word, start, ffi.new("int32_t[]", [3, 99, 5]), out),  # label out of range
        (n, 0, 2, 0, word, start, phones, out),                           # no pronunciations
        (1, 0, 2, 2, word, start, phones, out),                           # too few labels
    ]
    for args in bad_calls:
        st = new_status()
        assert lib.asr_lexicon_create(*args, st) == lib.ASR_E_ARG
        assert ffi.string(st.message)
    assert lib.asr_lexicon_info(ffi.NULL, ffi.new("size_t *"), new_status()) == lib.ASR_E_ARG
    lib.asr_lexicon_free(ffi.NULL)
