"""asr/subtitles.py and asr-decode --format srt|vtt: captions cut at endpoints
and caption limits, checked with real SRT and WebVTT parsers (the ``srt``
and ``webvtt-py`` packages, test dependencies) on real speech: the bundled
samples joined with silences between them."""
import glob
import io
import os
import tracemalloc

import numpy as np
import pytest
import soundfile as sf
import srt
import webvtt

from asr.audio import read_audio
from asr.cli import decode as decode_cli
from asr.stream import EndpointConfig, Recognizer, Word, find_model_file
from asr.subtitles import (CaptionConfig, balanced_lines, segment, timestamp, utterances, wrap,
                           write_subtitles)

RATE = 16000
GAP_S = 2.0          # silence between the samples: well over the 0.8 s endpoint rule


def words(spec):
    """Word objects from (text, start s, end s) triples."""
    return [Word(w, s, e, 1.0) for w, s, e in spec]


# ------------------------------------------------------------- units

def test_timestamp_formats():
    assert timestamp(0) == "00:00:00,000"
    assert timestamp(3661.5) == "01:01:01,500"
    assert timestamp(59.9996) == "00:01:00,000"        # rounded to the millisecond
    assert timestamp(7.25, ".") == "00:00:07.250"
    assert timestamp(-0.01) == "00:00:00,000"


def test_wrap_and_balanced_lines():
    ws = "the quick brown fox jumps over the lazy dog".split()
    assert wrap(ws, 20, 3) == ["the quick brown fox", "jumps over the lazy", "dog"]
    assert wrap(ws, 20, 2) is None
    # Greedy would leave one word on the second line; balanced splits evenly.
    assert wrap(ws, 42, 2) == ["the quick brown fox jumps over the lazy", "dog"]
    assert balanced_lines(ws, 42, 2) == ["the quick brown fox", "jumps over the lazy dog"]
    assert balanced_lines(["two", "nine", "three"], 42, 2) == ["two nine three"]   # one line fits
    assert balanced_lines(["supercalifragilistic"], 5, 1) == ["supercalifragilistic"]


def test_segment_by_characters_duration_and_hold():
    cfg = CaptionConfig(max_line_chars=10, max_lines=1, max_caption_s=3.0, min_caption_s=1.0)
    ws = words([("aaaa", 0.0, 0.2), ("bbbb", 0.3, 0.5), ("cc", 0.6, 0.7), ("dd", 0.8, 0.9),
                ("ee", 5.0, 5.2)])
    caps = segment(ws, cfg, end_limit=5.6)
    assert [c.lines for c in caps] == [["aaaa bbbb"], ["cc dd"], ["ee"]]
    # Held to 1 s when the next caption is far enough, else up to it.
    assert [(c.start, c.end) for c in caps] == [(0.0, 0.6), (0.6, 1.6), (5.0, 5.6)]
    long = words([("w%d" % i, i * 0.9, i * 0.9 + 0.5) for i in range(8)])
    caps = segment(long, CaptionConfig(max_caption_s=2.0))
    assert [len(c.text.split()) for c in caps] == [2, 2, 2, 2]
    assert all(c.end - c.start <= 2.0 for c in caps)


def test_vtt_escapes_markup_and_srt_numbers_cues():
    caps = segment(words([("r&b", 1.0, 1.5), ("<b>", 1.6, 2.0)]), CaptionConfig())
    out = io.StringIO()
    from asr.subtitles import make_writer
    w = make_writer("vtt", out)
    w.begin()
    for c in caps:
        w.write(c)
    assert out.getvalue() == "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nr&amp;b &lt;b&gt;\n\n"
    out = io.StringIO()
    w = make_writer("srt", out)
    for c in caps + caps:            # a caption earlier than the last one is moved after it
        w.write(c)
    subs = list(srt.parse(out.getvalue()))
    assert [s.index for s in subs] == [1, 2]
    assert subs[1].start == subs[0].end


# ------------------------------------------------- real speech, end to end

@pytest.fixture(scope="module")
def long_recording(tmp_path_factory):
    """The bundled samples twice over with GAP_S of silence around each: the
    path, and the (start, end) in seconds of each sample in it."""
    samples = sorted(glob.glob(os.path.join(os.path.dirname(find_model_file("en-us-int8.asrm")),
                                            "samples", "*.wav")))
    assert len(samples) >= 3
    silence = np.zeros(int(GAP_S * RATE), np.float32)
    parts, spans, t = [silence], [], GAP_S
    for f in samples * 2:
        x = read_audio(f, RATE)
        parts += [x, silence]
        spans.append((t, t + len(x) / RATE))
        t += (len(x) + len(silence)) / RATE
    path = str(tmp_path_factory.mktemp("subs") / "long.wav")
    sf.write(path, np.concatenate(parts), RATE, subtype="PCM_16")
    return path, spans


@pytest.fixture(scope="module")
def reference_words(long_recording):
    """The words of the same decode through the Python API, per utterance."""
    rec = Recognizer(endpoint=EndpointConfig())
    return [[w.word for w in r.words] for r in utterances(rec, long_recording[0]) if r.words]


def decode(args, capsys):
    rc = decode_cli.main(args)
    out, err = capsys.readouterr()
    return rc, out, err


def check_captions(cues, spans, ref_words, cfg):
    """Shared checks of parsed cues: (start s, end s, text) triples."""
    assert cues, "no captions"
    assert [w for _, _, text in cues for w in text.split()] == [w for u in ref_words for w in u]
    prev_end = 0.0
    for start, end, text in cues:
        assert prev_end <= start < end
        prev_end = end
        lines = text.split("\n")
        assert 1 <= len(lines) <= cfg.max_lines
        assert all(len(x) <= cfg.max_line_chars or " " not in x for x in lines)
        if len(text.split()) > 1:
            assert end - start <= cfg.max_caption_s + 0.001
        # Cut at endpoints: no caption starts in a silence or spans one.
        inside = [i for i, (a, b) in enumerate(spans) if a - 0.3 <= start <= b + 0.3]
        assert len(inside) == 1, (start, end, text)
        i = inside[0]
        if i + 1 < len(spans):
            assert end <= spans[i + 1][0], (start, end, text)


def test_srt_and_vtt_of_a_long_recording(long_recording, reference_words, tmp_path, capsys):
    path, spans = long_recording
    rc, out, _ = decode(["--format", "srt", path], capsys)
    assert rc == 0
    subs = list(srt.parse(out))
    assert [s.index for s in subs] == list(range(1, len(subs) + 1))
    # Six utterances, each short enough for one caption at the default limits.
    assert len(subs) == len(reference_words) == len(spans)
    cues = [(s.start.total_seconds(), s.end.total_seconds(), s.content) for s in subs]
    check_captions(cues, spans, reference_words, CaptionConfig())

    rc, out, err = decode(["--format", "vtt", path, "--output-dir", str(tmp_path / "out")], capsys)
    assert rc == 0 and out == "" and "long.wav.vtt" in err
    vtt = webvtt.read(str(tmp_path / "out" / "long.wav.vtt"))
    vcues = [(c.start_time.in_milliseconds() / 1000.0, c.end_time.in_milliseconds() / 1000.0, c.text)
             for c in vtt]
    assert vcues == cues          # the same captions, to the millisecond


def test_caption_limits_split_utterances(long_recording, reference_words, capsys):
    path, spans = long_recording
    cfg = CaptionConfig(max_line_chars=12, max_lines=1, max_caption_s=1.0)
    rc, out, _ = decode(["--format", "srt", path, "--max-line-chars", "12", "--max-lines", "1",
                         "--max-caption-s", "1.0"], capsys)
    assert rc == 0
    subs = list(srt.parse(out))
    assert len(subs) > len(reference_words)
    check_captions([(s.start.total_seconds(), s.end.total_seconds(), s.content) for s in subs],
                   spans, reference_words, cfg)


def test_json_and_text_unchanged_by_subtitles(long_recording, capsys):
    """--json is --format json; text and json decode a file as one utterance."""
    path, _ = long_recording
    rc1, a, _ = decode(["--json", path], capsys)
    rc2, b, _ = decode(["--format", "json", path], capsys)
    import json
    ja, jb = json.loads(a), json.loads(b)
    ja.pop("rtf"), jb.pop("rtf")
    assert rc1 == rc2 == 0 and ja == jb
    rc, text, _ = decode([path], capsys)
    assert rc == 0 and text.strip() == ja["text"]


def test_several_files_write_next_to_each_input(long_recording, tmp_path, capsys):
    a, b = str(tmp_path / "a.wav"), str(tmp_path / "b.flac")
    sf.write(a, read_audio(long_recording[0], RATE)[:RATE * 8], RATE)
    sf.write(b, read_audio(long_recording[0], RATE)[RATE * 8:RATE * 16], RATE)
    bad = str(tmp_path / "bad.wav")
    with open(bad, "w") as f:
        f.write("not audio")
    rc, out, err = decode(["--format", "srt", a, bad, b], capsys)
    assert rc == 1 and out == ""
    assert "bad.wav" in err and not os.path.exists(bad + ".srt")
    assert not glob.glob(str(tmp_path / "*.part"))
    for p in (a, b):
        with open(p + ".srt") as f:
            assert list(srt.parse(f.read()))
    out_dir = tmp_path / "out"
    rc, out, err = decode(["--format", "json", "--output-dir", str(out_dir), a, b], capsys)
    assert rc == 0 and out == ""
    import json
    for p in (a, b):
        with open(out_dir / (os.path.basename(p) + ".json")) as f:
            obj = json.loads(f.read())
        assert obj["file"] == p and obj["words"]
        rc, text, _ = decode([p], capsys)
        assert text == obj["text"] + "\n"


def test_usage_errors(capsys):
    for argv in (["--json", "--format", "srt", "x.wav"], ["--format", "srt", "-", "x.wav"],
                 ["--format", "srt", "--max-lines", "0", "x.wav"],
                 ["--format", "srt", "--output-dir", "d", "a/x.wav", "b/x.wav"]):
        with pytest.raises(SystemExit) as ei:
            decode_cli.main(argv)
        assert ei.value.code == 2, argv
        assert "error" in capsys.readouterr().err


def test_twenty_minutes_of_subtitles_in_bounded_memory(tmp_path, monkeypatch):
    """A 20-minute file (a sample and silence, over and over) is captioned
    while Python allocations stay far below the decoded audio's size
    (20 min x 16 kHz x 4 bytes = 77 MB): audio, results and captions are not
    kept, and each caption is written as its utterance ends."""
    x = read_audio(os.path.join(os.path.dirname(find_model_file("en-us-int8.asrm")), "samples",
                                "tidigits-dhd-2934z.wav"), RATE)
    unit = np.concatenate([x, np.zeros(int(GAP_S * RATE), np.float32)])
    reps = int(20 * 60 * RATE / len(unit)) + 1
    p = str(tmp_path / "long.wav")
    with sf.SoundFile(p, "w", RATE, 1, subtype="PCM_16") as f:
        for _ in range(reps):
            f.write(unit)
    rec = Recognizer(endpoint=EndpointConfig())
    import asr.audio
    read = [0]
    real_iter = asr.audio.iter_audio

    def counting_iter(*a, **k):
        for item in real_iter(*a, **k):
            read[0] += 1
            yield item

    class Sink:
        """Counts the 5-s blocks read when each caption is written."""
        def __init__(self):
            self.blocks_at_write = []

        def write(self, text):
            if "-->" in text:
                self.blocks_at_write.append(read[0])

        def flush(self):
            pass

    sink = Sink()
    monkeypatch.setattr(asr.audio, "iter_audio", counting_iter)
    tracemalloc.start()
    n = write_subtitles(rec, p, sink, "srt", block_s=5.0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert n >= reps * 0.9          # about one caption per repetition of the digits
    assert peak < 16e6, peak
    # Written as the utterances end, not at the end of the file.
    blocks = read[0]
    assert blocks >= 20 * 60 / 5
    assert sink.blocks_at_write[0] <= 2 and sink.blocks_at_write[n // 2] < blocks * 0.6
