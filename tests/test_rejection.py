"""Out-of-grammar rejection (asr/rejection.py): the forced CTC score against a
brute-force enumeration, the confidence's bounds, and the recognizer's
phrase mode accepting a spoken command and rejecting other speech."""
import itertools
import os

import numpy as np
import pytest

import asr
from asr.audio import read_audio
from asr.errors import AsrError
from asr.rejection import PhraseScorer, ctc_forced_score, free_loop_score, speech_frames
from asr.lexicon import Lexicon

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "models", "samples")
COMMAND = ("goforward-1.wav", "go forward ten meters")     # models/samples/README.md
SENTENCE = "librivox-0880.wav"
COMMANDS = ["go forward ten meters", "go back", "turn left", "turn right", "stop"]


def collapse(path, blank):
    out, prev = [], None
    for p in path:
        if p != prev and p != blank:
            out.append(p)
        prev = p
    return out


def brute_force(lp, labels, blank):
    """Best score over every label path whose CTC collapse is ``labels``."""
    best = -np.inf
    for path in itertools.product(range(lp.shape[1]), repeat=lp.shape[0]):
        if collapse(path, blank) == list(labels):
            best = max(best, sum(lp[t, k] for t, k in enumerate(path)))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_forced_score_is_the_best_collapsing_path(seed):
    rng = np.random.default_rng(seed)
    T, K = int(rng.integers(1, 7)), 3
    lp = np.log(rng.dirichlet(np.ones(K), size=T))
    for n in range(0, 4):
        for labels in itertools.product(range(1, K), repeat=n):
            got = ctc_forced_score(lp, list(labels), 0)
            want = brute_force(lp, labels, 0)
            if np.isinf(want):
                assert np.isinf(got) and got < 0
            else:
                assert got == pytest.approx(want, abs=1e-9)


def test_confidence_bounds():
    lex = Lexicon.from_prons([("ab", ["AA", "B"]), ("ba", ["B", "AA"])])
    scorer = PhraseScorer(lex)
    aa, b = lex.labels.index("AA"), lex.labels.index("B")
    # Frames whose best path is exactly "AA B": the phrase explains them fully.
    path = [0, aa, aa, 0, b, 0]
    lp = np.full((len(path), len(lex.labels)), np.log(0.01))
    lp[np.arange(len(path)), path] = np.log(0.6)
    assert free_loop_score(lp) == pytest.approx(len(path) * np.log(0.6))
    assert speech_frames(lp, 0) == 3
    assert scorer.confidence(lp, ["ab"]) == pytest.approx(1.0)
    reversed_conf = scorer.confidence(lp, ["ba"])
    assert 0.0 < reversed_conf < 0.2
    assert scorer.confidence(lp[:1], ["ab", "ba"]) == 0.0       # too few frames for 4 phones
    assert scorer.confidence(lp, []) == 0.0


@pytest.fixture(scope="module")
def rec():
    return asr.Recognizer(phrases=COMMANDS)


def run(rec, name, chunk=None):
    x = read_audio(os.path.join(SAMPLES, name), rec.sample_rate)
    s = rec.stream()
    for i in range(0, len(x), chunk or len(x)):
        s.accept(x[i:i + (chunk or len(x))])
    s.finish()
    return s.results


def test_a_spoken_command_is_accepted_with_its_confidence(rec):
    results = [r for r in run(rec, COMMAND[0]) if r.text]
    assert [r.text for r in results] == [COMMAND[1]]
    assert rec.reject <= results[0].conf <= 1.0


def test_the_confidence_does_not_depend_on_chunking(rec):
    whole = [(r.text, r.conf) for r in run(rec, COMMAND[0])]
    assert [(r.text, r.conf) for r in run(rec, COMMAND[0], chunk=1234)] == whole


def test_other_speech_gives_no_result(rec):
    results = run(rec, SENTENCE)
    assert all(r.text == "" for r in results)
    # what the search did force onto a phrase, if anything, was rejected
    assert all(r.conf is None or r.conf < rec.reject for r in results)


def test_a_strict_threshold_rejects_and_keeps_the_phrase():
    strict = asr.Recognizer(phrases=COMMANDS, reject=1.0)
    results = run(strict, COMMAND[0])
    assert all(r.text == "" and r.words == [] for r in results)
    assert [r.rejected for r in results if r.rejected] == [COMMAND[1]]


def test_reject_must_be_a_confidence():
    with pytest.raises(AsrError):
        asr.Recognizer(phrases=COMMANDS, reject=1.5)


def test_without_phrases_results_carry_no_phrase_confidence():
    r = asr.Recognizer().recognize(read_audio(os.path.join(SAMPLES, COMMAND[0])))
    assert r.conf is None and r.rejected == ""


def test_the_cli_prints_the_confidence_and_the_rejected_phrase(tmp_path, capsys):
    import json
    from asr.cli.decode import main
    phrases = tmp_path / "phrases.txt"
    phrases.write_text("\n".join(COMMANDS) + "\n")
    path = os.path.join(SAMPLES, COMMAND[0])
    assert main(["--json", "--phrases", str(phrases), path]) == 0
    kept = json.loads(capsys.readouterr().out)
    assert kept["text"] == COMMAND[1] and 0 < kept["conf"] <= 1 and "rejected" not in kept
    assert main(["--json", "--phrases", str(phrases), "--reject", "1", path]) == 0
    dropped = json.loads(capsys.readouterr().out)
    assert dropped["text"] == "" and dropped["rejected"] == COMMAND[1]
    assert dropped["conf"] == kept["conf"]
