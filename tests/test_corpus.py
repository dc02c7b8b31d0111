"""tools/corpus/: the recorded training sets are split as the shared README
asks (cv by sentence, so762 by speaker), never touch the test-only sets, and
their perturbed copies are reproducible."""
import os

import numpy as np


from tools.corpus import augment
from tools.corpus import real_sets


def kaldi_set(root, name, rows):
    """rows: (utt, speaker, text); the audio paths are relative, as in ../shared/speech."""
    d = root / name
    d.mkdir(parents=True)
    (d / "wav.scp").write_text("".join("%s audio/%s.opus\n" % (u, u) for u, _, _ in rows))
    (d / "text").write_text("".join("%s %s\n" % (u, t) for u, _, t in rows))
    (d / "utt2spk").write_text("".join("%s %s\n" % (u, s) for u, s, _ in rows))


def test_real_sets_split_by_sentence_and_speaker(tmp_path, monkeypatch):
    speech = tmp_path / "speech"
    sentences = ["the cat sat %s" % w for w in ("down", "up", "in", "out", "on", "off")] * 10
    kaldi_set(speech, "cv-train", [("cv%03d" % i, "cv%03d" % i, s) for i, s in enumerate(sentences)])
    kaldi_set(speech, "so762-train", [("so%03d" % i, "spk%02d" % (i % 30), "we call it %s" % w)
                                      for i, w in enumerate(["bear"] * 30 + ["cat"] * 30 + ["zorblax"] * 30)])
    kaldi_set(speech, "fsdd", [("f%d" % i, "george", "zero") for i in range(4)])
    kaldi_set(speech, "keywords", [("k%d" % i, "k%d" % i, "snowboy") for i in range(3)])
    # cv-test and so762-test do not exist here: reading them would fail the test.
    lex = {w: ["X"] for w in "the cat sat down up in out on off we call it bear zero".split()}
    monkeypatch.setattr(real_sets.texts, "load_cmudict", lambda: {k: list(v) for k, v in lex.items()})
    out = tmp_path / "out"
    report = real_sets.build(str(speech), str(out))

    def rows(name):
        t = dict(line.split(None, 1) for line in (out / name / "text").read_text().splitlines())
        spk = dict(line.split() for line in (out / name / "utt2spk").read_text().splitlines())
        scp = dict(line.split() for line in (out / name / "wav.scp").read_text().splitlines())
        return t, spk, scp
    cv_t, _, cv_scp = rows("cv-train")
    cvv_t, _, _ = rows("cv-valid")
    assert cvv_t and not set(cv_t.values()) & set(cvv_t.values())       # sentence-disjoint
    assert all(os.path.isabs(p) and p.startswith(str(speech)) for p in cv_scp.values())
    so_t, so_spk, _ = rows("so762-train")
    sov_t, sov_spk, _ = rows("so762-valid")
    assert sov_spk and not set(so_spk.values()) & set(sov_spk.values())  # speaker-disjoint
    assert len(set(sov_spk.values())) == round(30 * real_sets.VALID_PERCENT / 100)
    assert not any("zorblax" in t for t in list(so_t.values()) + list(sov_t.values()))
    assert report["so762-train"][1] + report["so762-valid"][1] == 30       # left out, counted
    assert report["keywords-train"][0] == 3                                # snowboy: extra_lexicon.txt
    lm = (out / "text" / "lm_real.txt").read_text().splitlines()
    assert "snowboy" in lm and "zero" in lm and not any(s.startswith("we call") for s in lm)
    assert len(lm) == len(set(lm))
    assert (out / "text" / "cv-valid.txt").read_text().splitlines() == list(cvv_t.values())
    lexicon = (out / "lexicon-real.txt").read_text()
    assert "snowboy S N OW B OY\n" in lexicon and "zorblax" not in lexicon


def test_perturbed_copies_are_reproducible_and_bounded():
    x = (0.1 * np.random.default_rng(0).standard_normal(8000 * 3)).astype(np.float32)
    a = augment.augment_recorded(x, 8000, np.random.default_rng(7))
    b = augment.augment_recorded(x, 8000, np.random.default_rng(7))
    c = augment.augment_recorded(x, 8000, np.random.default_rng(8))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.dtype == np.float32 and np.abs(a).max() <= 0.98 + 1e-6
    # 3 s at 8 kHz comes back at 16 kHz, within the speed range 0.9-1.1
    assert 0.85 * 48000 < len(a) < 1.15 * 48000


def test_kaldi_directories_are_written_whole(tmp_path):
    from tools.corpus.kaldi import write_dir
    rows = [("u2", "s1", "b c", "/x/2.wav", 1.5), ("u1", "s2", "a", "/x/1.wav", 0.25),
            ("u3", "s1", "d", "/x/3.wav", 2.0)]
    write_dir(str(tmp_path / "d"), rows)
    read = lambda name: (tmp_path / "d" / name).read_text().splitlines()   # noqa: E731
    assert read("wav.scp") == ["u1 /x/1.wav", "u2 /x/2.wav", "u3 /x/3.wav"]
    assert read("spk2utt") == ["s1 u2 u3", "s2 u1"]
    assert read("utt2dur") == ["u1 0.250", "u2 1.500", "u3 2.000"]
    write_dir(str(tmp_path / "e"), [r[:4] + (None,) for r in rows], sort=False)
    assert (tmp_path / "e" / "text").read_text().splitlines() == ["u2 b c", "u1 a", "u3 d"]
    assert (tmp_path / "e" / "spk2utt").read_text().splitlines() == ["s1 u2 u3", "s2 u1"]
    assert not (tmp_path / "e" / "utt2dur").exists()
    assert not list((tmp_path / "e").glob("*.tmp"))
