"""The binary lexicon (asr/lexicon.py save_binary/load_binary, asr-lm
lexicon): the same words and pronunciations as the text it came from, the
same decoding, and damage refused with a LexiconError."""
import numpy as np
import pytest

from asr.cli.lm import main as asr_lm
from asr.decoder import build_decoder
from asr.errors import LexiconError
from asr.lexicon import (BINARY_MAGIC, DEFAULT_LABELS, load_binary, load_lexicon, read_prons,
                         save_binary)

from helpers import resign
from test_decoder import ARPA, LABELS, LEX, posteriors


@pytest.fixture()
def pair(tmp_path):
    text = tmp_path / "lex.dict"
    text.write_text(LEX)
    binary = str(tmp_path / "lex.asrlex")
    save_binary(load_lexicon(str(text)), binary)
    return str(text), binary


def test_binary_equals_text(pair):
    text, binary = pair
    a, b = load_lexicon(text), load_lexicon(binary)
    assert (a.words, a.entries, a.labels) == (b.words, b.entries, b.labels)
    assert read_prons(binary) == read_prons(text)
    assert open(binary, "rb").read(8) == BINARY_MAGIC


def test_decoding_with_either_form_is_the_same(tmp_path, pair):
    text, binary = pair
    lm = tmp_path / "lm.arpa"
    lm.write_text(ARPA)
    lp = posteriors("AY R EH D AH B UH K".split())
    results = []
    for lex in (text, binary):
        s = build_decoder(LABELS, lexicon=lex, lm=str(lm)).stream()
        s.accept(lp)
        r = s.finish()
        results.append((r.text, r.nbest, [(w.word, w.start, w.end, w.conf) for w in r.words]))
    assert results[0] == results[1]


def test_another_label_order_is_mapped_by_name(pair):
    text, binary = pair
    labels = ["<blk>"] + sorted(DEFAULT_LABELS[1:], reverse=True)
    a, b = load_lexicon(text, labels), load_lexicon(binary, labels)
    assert (a.words, a.entries) == (b.words, b.entries)


def poke(name, index, value, dtype=np.int32):
    """Body edit: element ``index`` of array ``name`` set to ``value``."""
    def edit(h, body):
        off = h["tensors"][name]["offset"] + index * np.dtype(dtype).itemsize
        body[off:off + 4] = np.array([value], dtype).tobytes()
    return edit


def test_damaged_files_are_refused(tmp_path, pair):
    _, binary = pair
    data = open(binary, "rb").read()
    flipped = bytearray(data)
    flipped[len(data) - 40] ^= 4
    cases = [(data[:100], "truncated"), (bytes(flipped), "checksum"),
             (resign(data, lambda h: h.update(format="asrlm")), "not a binary lexicon"),
             (resign(data, edit_body=poke("phones", 0, 0)), "not a label"),
             (resign(data, edit_body=poke("phones", 1, 99)), "not a label"),
             (resign(data, edit_body=poke("pron_word", 2, -1)), "outside the word list"),
             (resign(data, edit_body=poke("pron_start", 1, 0)), "offsets"),
             (resign(data, lambda h: h["tensors"]["phones"].update(dtype="float32")), "int32"),
             (resign(data, lambda h: h.pop("labels")), "malformed")]
    bad = tmp_path / "bad.asrlex"
    for content, match in cases:
        bad.write_bytes(content)
        with pytest.raises(LexiconError, match=match):
            load_lexicon(str(bad))


def test_the_lexicon_command(tmp_path, pair, capsys):
    text, _ = pair
    out = tmp_path / "out.asrlex"
    assert asr_lm(["lexicon", text, str(out)]) == 0
    assert "7 words, 8 pronunciations" in capsys.readouterr().out
    assert load_binary(str(out)).words == load_lexicon(text).words
    bad = tmp_path / "bad.dict"
    bad.write_text("word\n")
    assert asr_lm(["lexicon", str(bad), str(out)]) == 1
    assert "bad.dict:1" in capsys.readouterr().err


def test_build_lm_writes_the_binary_lexicon(tmp_path):
    from tools import build_lm
    text = tmp_path / "t.txt"
    text.write_text("i read a book\na red bed\n")
    lex = tmp_path / "lex.dict"
    lex.write_text(LEX)
    common = [str(text), "-o", str(tmp_path / "m.arpa"), "--lexicon", str(lex)]
    assert build_lm.main(common + ["--lexicon-out", str(tmp_path / "v.asrlex")]) == 0
    assert build_lm.main(common + ["--lexicon-out", str(tmp_path / "v.dict")]) == 0
    assert read_prons(str(tmp_path / "v.asrlex")) == read_prons(str(tmp_path / "v.dict"))
    assert open(tmp_path / "v.asrlex", "rb").read(8) == BINARY_MAGIC
