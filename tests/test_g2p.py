"""Grapheme-to-phoneme model (asr/g2p.py) and adding words at run time
(Recognizer.add_words, --words): numpy inference against the training
network, file validation, and new words becoming recognizable."""
import json
import os

import numpy as np
import pytest

import asr
from asr.audio import read_audio
from asr.errors import LexiconError, ModelFormatError
from asr.g2p import bundled_g2p, load_g2p, word_prons
from asr.lexicon import CMU_PHONES, load_lexicon

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "models", "samples", "goforward-1.wav")
SAMPLE_WORDS = "go forward ten meters".split()       # models/samples/README.md


def test_numpy_inference_matches_the_training_network(tmp_path):
    torch = pytest.importorskip("torch")     # the 'train' extra; CI installs it
    from tools import train_g2p
    torch.manual_seed(3)
    net = train_g2p.build(torch, channels=16, layers=5, kernel=5)
    for p in net.parameters():
        p.data.normal_(0, 0.3)
    path = str(tmp_path / "g2p.npz")
    train_g2p.save(net, path)
    g2p = load_g2p(path)
    for word in ["a", "xylophone", "o'brien", "re-enter", "zz9"]:
        x = torch.tensor([train_g2p.encode(word)])
        want = net(x)[0].detach().numpy()
        np.testing.assert_allclose(g2p.logits(word), want, rtol=1e-4, atol=1e-4)


def test_the_bundled_model_pronounces_words_it_never_saw():
    g2p = bundled_g2p()
    lex = {w: p for w, p in load_lexicon(os.path.join(ROOT, "models", "en-us.asrlex")).prons()}
    for word in ["snowboy", "kubernetes", "zorblatt"]:
        phones = g2p.pronounce(word)
        assert phones and all(p in CMU_PHONES for p in phones)
    # a common word comes out as the dictionary says
    assert g2p.pronounce("cat") == lex["cat"]
    with pytest.raises(ValueError):
        g2p.pronounce("  ")


def test_a_corrupt_or_wrong_g2p_file_is_a_clear_error(tmp_path):
    good = os.path.join(ROOT, "models", "en-us-g2p.npz")
    data = open(good, "rb").read()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(ModelFormatError):
        load_g2p(str(cut))
    with np.load(good) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["out_w"] = arrays["out_w"][:, :-1]
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(ModelFormatError):
        load_g2p(str(bad))
    arrays = {k: v for k, v in arrays.items() if k != "emb"}
    np.savez(bad, **arrays)
    with pytest.raises(ModelFormatError):
        load_g2p(str(bad))


def test_word_items_parse():
    got = word_prons(["Foo F UW1", ("bar", "b aa r"), ("baz", ["B", "AE", "Z"])])
    assert got == [("foo", ["F", "UW"]), ("bar", ["B", "AA", "R"]), ("baz", ["B", "AE", "Z"])]
    for bad in ["just a string", [3], [("", "AA")]]:
        with pytest.raises(LexiconError):
            word_prons(bad)


def test_an_added_word_becomes_recognizable():
    """'forward' taken out of the lexicon cannot be recognized; added back
    (with its dictionary pronunciation) it is, without a reload."""
    full = load_lexicon(os.path.join(ROOT, "models", "en-us.asrlex"))
    kept = [(w, p) for w, p in full.prons() if w != "forward"]
    lexicon = type(full).from_prons(kept, full.labels)
    rec = asr.Recognizer(lexicon=lexicon, precision="float")
    audio = read_audio(SAMPLE)
    before = rec.recognize(audio).text.split()
    assert "forward" not in before
    rec.add_words([(w, p) for w, p in full.prons() if w == "forward"])
    after = rec.recognize(audio).text.split()
    assert "forward" in after
    assert sum(w in after for w in SAMPLE_WORDS) > sum(w in before for w in SAMPLE_WORDS)


def test_a_word_without_phones_is_pronounced_by_the_g2p_model():
    rec = asr.Recognizer(precision="float")
    prons = rec.add_words(["kubernetes", "zorblatt AA"])
    assert prons == [("kubernetes", bundled_g2p().pronounce("kubernetes")), ("zorblatt", ["AA"])]
    assert "kubernetes" in rec.decoder.lexicon and rec.decoder.lm.lm_id("kubernetes") >= 0


def test_a_running_stream_keeps_its_decoder_until_its_next_utterance():
    rec = asr.Recognizer(precision="float")
    s = rec.stream()
    old = s._core.decoder
    rec.add_words([("zorblatt", "Z AO R B L AE T")])
    s.accept(np.zeros(1600, np.float32))          # no endpoint: the utterance goes on
    assert s._core.decoder is old and rec.decoder is not old
    assert s._next.decoder is rec.decoder          # taken at the next utterance
    assert "zorblatt" in rec.decoder.lexicon and "zorblatt" not in old.lexicon
    assert rec.decoder.lm.lm_id("zorblatt") >= 0


def test_words_with_phrases(tmp_path, capsys):
    from asr.cli.decode import main
    phrases = tmp_path / "phrases.txt"
    phrases.write_text("go zorblatt ten meters\nturn left\n")
    words = tmp_path / "words.txt"
    words.write_text("zorblatt F AO R W ER D\n")
    assert main(["--json", "--phrases", str(phrases), "--words", str(words), SAMPLE]) == 0
    assert json.loads(capsys.readouterr().out)["text"] == "go zorblatt ten meters"
    with pytest.raises(asr.errors.DecoderError):
        asr.Recognizer(phrases=["turn left"]).add_words(["zorblatt"])


def test_bad_pronunciations_are_refused_and_change_nothing():
    rec = asr.Recognizer(precision="float")
    before = rec.decoder
    for bad in [[("foo", "QQ X")], [("", "AA")], ["foo AA 7"]]:
        with pytest.raises(LexiconError):
            rec.add_words(bad)
    assert rec.decoder is before


def test_added_unigrams_score_the_same_in_python_and_in_c():
    from asr.lm import LN10, load_lm
    lm = load_lm(os.path.join(ROOT, "models", "en-us.asrlm"))
    new = lm.with_unigrams(["zorblatt"], -4.5)
    assert lm.lm_id("zorblatt") == -1 and new.lm_id("zorblatt") == len(lm.vocab)
    assert new.unigram("zorblatt") == pytest.approx(-4.5 * LN10)
    words = ["the", "zorblatt", "is", "here"]
    ids = [new.lm_id(w) for w in words]
    assert new.native().score(ids) == pytest.approx(new.score(words), abs=1e-4)
    assert new.with_unigrams(["zorblatt", "the"]) is new    # nothing new: the same model
    with pytest.raises(asr.errors.LanguageModelError):
        lm.with_unigrams(["x"], float("nan"))
