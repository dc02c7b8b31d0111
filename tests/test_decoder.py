"""The decoder on hand-built posteriors where the right answer is known."""
import math

import numpy as np
import pytest

from asr.decoder import build_decoder
from asr.errors import DecoderError, LexiconError

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
