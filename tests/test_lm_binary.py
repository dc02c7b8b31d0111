"""The binary LM form (asr/lm.py save_binary/load_binary, asr-lm): the same
arrays and scores as the ARPA file it came from, and every kind of damage
refused with a LanguageModelError."""
import gzip
import struct

import numpy as np
import pytest

from asr.cli.lm import main as asr_lm
from asr.errors import LanguageModelError
from asr.lm import BINARY_MAGIC, load_binary, load_lm, parse_arpa, save_binary

from helpers import resign
from test_lm import ARPA

SENTENCES = [["a", "b"], ["b", "c", "a"], ["zzz"], [], ["c", "c", "c", "b"]]


@pytest.fixture()
def pair(tmp_path):
    lm = parse_arpa(ARPA, "test.arpa")
    path = str(tmp_path / "test.asrlm")
    save_binary(lm, path)
    return lm, path


def test_binary_equals_arpa(pair):
    lm, path = pair
    b = load_lm(path)
    assert b.vocab == lm.vocab and b.order == lm.order
    for x, y in zip(b.ids + b.logp10 + b.bow10, lm.ids + lm.logp10 + lm.bow10):
        np.testing.assert_array_equal(x, y)
    for words in SENTENCES:
        assert b.score(words) == lm.score(words)
        ids = [b.lm_id(w) for w in words]
        assert b.native().score(ids) == lm.native().score(ids)


def test_load_lm_reads_either_form(tmp_path, pair):
    lm, path = pair
    arpa = tmp_path / "x.arpa.gz"
    with gzip.open(arpa, "wt") as f:
        f.write(ARPA)
    assert load_lm(str(arpa)).vocab == load_lm(path).vocab == lm.vocab


def test_damaged_files_are_refused(tmp_path, pair):
    _, path = pair
    data = open(path, "rb").read()
    bad = tmp_path / "bad.asrlm"
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 1
    cases = [(data[:len(data) // 2], "truncated"), (bytes(flipped), "checksum"),
             (data + b"x", "unexpected"),
             (data[:8] + struct.pack("<I", 7) + data[12:], "version 7"),
             (resign(data, lambda h: h.update(order=9)), "order"),
             (resign(data, lambda h: h["tensors"]["ids.2"].update(shape=[1, 5])), "size|shape"),
             (resign(data, lambda h: h["tensors"]["logp10.1"].update(dtype="int32")), "float32"),
             (resign(data, lambda h: h.pop("vocab")), "malformed")]
    for content, match in cases:
        bad.write_bytes(content)
        with pytest.raises(LanguageModelError, match=match):
            load_binary(str(bad))
    assert data.startswith(BINARY_MAGIC)
    bad.write_bytes(b"ASRL")                  # not the whole magic: read as ARPA, and refused
    with pytest.raises(LanguageModelError):
        load_lm(str(bad))


def test_ids_outside_the_vocabulary_are_refused(tmp_path, pair):
    lm, _ = pair
    lm.ids[1][0, 1] = len(lm.vocab) + 3
    path = str(tmp_path / "ids.asrlm")
    save_binary(lm, path)
    with pytest.raises(LanguageModelError, match="outside the vocabulary"):
        load_binary(path)


def test_the_convert_command(tmp_path, capsys):
    arpa = tmp_path / "x.arpa"
    arpa.write_text(ARPA)
    out = tmp_path / "x.asrlm"
    assert asr_lm(["convert", str(arpa), str(out)]) == 0
    assert "order 3" in capsys.readouterr().out
    assert load_binary(str(out)).vocab == parse_arpa(ARPA).vocab
    assert asr_lm(["info", str(out)]) == 0
    assert asr_lm(["convert", str(tmp_path / "missing.arpa"), str(out)]) == 1
    assert "missing.arpa" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        asr_lm(["frobnicate"])
    assert exc.value.code == 2


def test_build_lm_writes_the_binary_form(tmp_path):
    from tools import build_lm
    text = tmp_path / "t.txt"
    text.write_text("a b c\nb c a\na b\n")
    lex = tmp_path / "lex"
    lex.write_text("a AH\nb B IY\nc S IY\n")
    assert build_lm.main([str(text), "-o", str(tmp_path / "m.asrlm"), "--lexicon", str(lex)]) == 0
    assert build_lm.main([str(text), "-o", str(tmp_path / "m.arpa"), "--lexicon", str(lex)]) == 0
    b, a = load_lm(str(tmp_path / "m.asrlm")), load_lm(str(tmp_path / "m.arpa"))
    assert b.vocab == a.vocab and b.score(["a", "b"]) == a.score(["a", "b"])
