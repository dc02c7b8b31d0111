"""asr-decode and asr-eval end to end on generated audio, with a small
model set written to a temporary model directory."""
import io
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from asr.cli import decode as decode_cli
from asr.cli import eval as eval_cli
from asr.features import logmel
from asr.quantize import quantize_model

from helpers import random_float_model

LEX = "go G OW\nstop S T AA P\nleft L EH F T\nright R AY T\nten T EH N\nyes Y EH S\nno N OW\n"
ARPA = """
\\data\\
ngram 1=9

\\1-grams:
-1.0\t</s>
-99\t<s>\t0.0
-1.0\tgo
-1.0\tstop
-1.0\tleft
-1.0\tright
-1.0\tten
-1.0\tyes
-1.0\tno

\\end\\
"""


def speech(seconds, seed, rate=16000):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    return (0.1 * rng.standard_normal(len(t)) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2)).astype(np.float32)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    m = random_float_model(seed=9, hidden=32)
    m.save(str(d / "en-us-float.asrm"))
    calib = [logmel(speech(1.5, s), m.features) for s in range(3)]
    for p in ("int16", "int8"):
        q, _ = quantize_model(m, calib, p, report=False)
        q.save(str(d / ("en-us-%s.asrm" % p)))
    (d / "en-us.lexicon").write_text(LEX)
    from asr.lexicon import load_lexicon, save_binary as save_lexicon
    save_lexicon(load_lexicon(str(d / "en-us.lexicon")), str(d / "en-us.asrlex"))
    (d / "en-us.arpa").write_text(ARPA)
    import gzip
    with gzip.open(d / "en-us.arpa.gz", "wt") as f:
        f.write(ARPA)
    from asr.lm import parse_arpa, save_binary
    save_binary(parse_arpa(ARPA), str(d / "en-us.asrlm"))
    return d


@pytest.fixture()
def env(model_dir, monkeypatch):
    monkeypatch.setenv("ASR_MODEL_DIR", str(model_dir))
    return model_dir


def run(main, argv, capsys):
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_decode_prints_one_line_per_file_and_survives_bad_input(env, tmp_path, capsys):
    good = tmp_path / "a.wav"
    sf.write(good, speech(1.0, 1), 16000)
    stereo = tmp_path / "b.flac"
    sf.write(stereo, np.stack([speech(1.2, 2, 48000)] * 2, axis=1), 48000)
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    rc, out, err = run(decode_cli.main, [str(good), str(bad), str(stereo)], capsys)
    assert rc == 1
    lines = out.splitlines()
    assert [ln.split("\t")[0] for ln in lines] == [str(good), str(stereo)]
    assert "bad.wav" in err and err.count("\n") == 1


def test_decode_json_fields(env, tmp_path, capsys):
    p = tmp_path / "a.wav"
    sf.write(p, speech(1.5, 3, 22050), 22050)
    for prec in ("float", "int16", "int8"):
        rc, out, _ = run(decode_cli.main, ["--json", "--nbest", "3", "--precision", prec, str(p)], capsys)
        assert rc == 0
        obj = json.loads(out)
        assert set(obj) >= {"file", "text", "words", "duration", "rtf", "precision", "nbest"}
        assert obj["precision"] == prec
        assert obj["duration"] == pytest.approx(1.5, abs=0.01)
        assert obj["rtf"] > 0
        for w in obj["words"]:
            assert set(w) == {"word", "start", "end", "conf"}
            assert 0 <= w["start"] <= w["end"] <= 1.6 and 0 <= w["conf"] <= 1
            assert w["word"] in LEX.split()


def test_decode_reads_stdin(env, tmp_path, capsys, monkeypatch):
    buf = io.BytesIO()
    sf.write(buf, speech(1.0, 4), 16000, format="WAV")
    monkeypatch.setattr(sys, "stdin", type("S", (), {"buffer": io.BytesIO(buf.getvalue())})())
    rc, out, _ = run(decode_cli.main, ["-", "--no-lm"], capsys)
    assert rc == 0 and len(out.splitlines()) == 1


def test_decode_usage_errors(env, capsys):
    with pytest.raises(SystemExit) as ei:
        decode_cli.main([])
    assert ei.value.code == 2
    rc, _, err = run(decode_cli.main, ["--model", "/nonexistent.asrm", "x.wav"], capsys)
    assert rc == 1 and "nonexistent" in err


def test_eval_tsv_and_kaldi_dir(env, tmp_path, capsys):
    rows = []
    for i, ref in enumerate(["go left", "stop", "yes no ten"]):
        p = tmp_path / ("u%d.wav" % i)
        sf.write(p, speech(1.0 + 0.3 * i, 10 + i), 16000)
        rows.append((str(p), ref))
    tsv = tmp_path / "set.tsv"
    tsv.write_text("".join("%s\t%s\n" % r for r in rows))
    rc, out, _ = run(eval_cli.main, [str(tsv), "--json"], capsys)
    assert rc == 0
    rep = json.loads(out)
    assert set(rep["precisions"]) == {"float", "int16", "int8"}
    for prec, e in rep["precisions"].items():
        assert e["ref_words"] == 6
        assert e["substitutions"] + e["deletions"] + e["insertions"] == round(e["wer"] * 6)
        assert set(e["rtf"]) == {"features", "model", "decoder", "total"}
        if prec != "float":
            assert 0 <= e["agreement_with_float"] <= 1
    kd = tmp_path / "kaldi"
    kd.mkdir()
    (kd / "wav.scp").write_text("".join("u%d %s\n" % (i, p) for i, (p, _) in enumerate(rows)))
    (kd / "text").write_text("".join("u%d %s\n" % (i, r) for i, (_, r) in enumerate(rows)))
    rc, out, _ = run(eval_cli.main, [str(kd), "--precision", "int8"], capsys)
    assert rc == 0 and "int8" in out
    rc, out, _ = run(eval_cli.main, [str(tsv), "--precision", "float,int8", "--ci", "--json"], capsys)
    rep = json.loads(out)["precisions"]
    for prec, e in rep.items():
        lo, hi = e["wer_ci95"]
        assert 0 <= lo <= e["wer"] <= hi
    d = rep["int8"]["minus_float"]
    assert d["utterances"] == 3
    assert d["wer"] == pytest.approx(rep["int8"]["wer"] - rep["float"]["wer"], abs=1e-4)
    assert d["ci95"][0] <= d["wer"] <= d["ci95"][1]
    assert "wer_ci95" not in json.loads(run(eval_cli.main, [str(tsv), "--precision", "int8", "--json"],
                                            capsys)[1])["precisions"]["int8"]
    rc, out, _ = run(eval_cli.main, [str(tsv), "--precision", "float,int8", "--ci"], capsys)
    assert "int8      WER 95 % interval" in out and "minus float" in out


@pytest.mark.skipif(shutil.which("asr-decode") is None, reason="console scripts not installed")
def test_console_script_runs(env, tmp_path):
    p = tmp_path / "a.wav"
    sf.write(p, speech(0.8, 5), 16000)
    r = subprocess.run(["asr-decode", str(p)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_eval_by_speaker_and_greedy_phone_error_rate(env, tmp_path, capsys):
    kd = tmp_path / "kaldi"
    kd.mkdir()
    refs = {"a-1": "go left", "a-2": "stop", "b-1": "yes no ten", "b-2": "go zebra"}
    for i, u in enumerate(refs):
        sf.write(tmp_path / (u + ".wav"), speech(1.0, 20 + i), 16000)
    (kd / "wav.scp").write_text("".join("%s %s\n" % (u, tmp_path / (u + ".wav")) for u in refs))
    (kd / "text").write_text("".join("%s %s\n" % kv for kv in refs.items()))
    (kd / "utt2spk").write_text("".join("%s %s\n" % (u, u[0]) for u in refs))
    rc, out, _ = run(eval_cli.main, [str(kd), "--precision", "int8", "--by-speaker", "--json"], capsys)
    rep = json.loads(out)["precisions"]["int8"]
    assert rc == 0 and set(rep["speakers"]) == {"a", "b"}
    assert rep["speakers"]["a"]["ref_words"] == 3 and rep["speakers"]["b"]["ref_words"] == 5
    assert sum(s["sentences"] for s in rep["speakers"].values()) == rep["sentences"] == 4
    # Greedy scores phones against the lexicon's pronunciations; "zebra" has
    # none, so its utterance is left out and counted.
    rc, out, _ = run(eval_cli.main, [str(kd), "--precision", "int8", "--greedy", "--json"], capsys)
    rep = json.loads(out)
    assert rc == 0 and rep["unit"] == "phone"
    e = rep["precisions"]["int8"]
    assert e["no_pronunciation"] == 1 and e["sentences"] == 3
    assert e["ref_words"] == len("G OW L EH F T S T AA P Y EH S N OW T EH N".split())


def test_eval_progress_bar_on_stderr_only(env, tmp_path, capsys):
    rows = []
    for i in range(3):
        p = tmp_path / ("u%d.wav" % i)
        sf.write(p, speech(0.6, 40 + i), 16000)
        rows.append("%s\tgo\n" % p)
    tsv = tmp_path / "set.tsv"
    tsv.write_text("".join(rows))
    rc, out, err = run(eval_cli.main, [str(tsv), "--json", "--precision", "int8", "--progress"], capsys)
    assert rc == 0 and json.loads(out)["utterances"] == 3
    assert "int8 [" in err and "3/3" in err
    rc, out, err = run(eval_cli.main, [str(tsv), "--json", "--precision", "int8"], capsys)
    assert rc == 0 and err == ""           # stderr is not a terminal: no bar by default
