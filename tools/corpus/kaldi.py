"""Kaldi-style data directories, written atomically: wav.scp, text, utt2spk,
spk2utt, and utt2dur when durations are known."""
import os


def write_lines(path, lines):
    """Write lines to path atomically (a temporary file, then a rename)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.writelines(line + "\n" for line in lines)
    os.replace(path + ".tmp", path)


def write_dir(d, rows, sort=True):
    """A Kaldi directory from (utt, speaker, text, audio path, seconds or
    None) rows, sorted by utterance id unless ``sort`` is False (then in the
    given order, speakers in order of appearance)."""
    rows = sorted(rows) if sort else list(rows)
    spk2utt = {}
    for r in rows:
        spk2utt.setdefault(r[1], []).append(r[0])
    speakers = sorted(spk2utt.items()) if sort else list(spk2utt.items())
    files = {"wav.scp": ["%s %s" % (r[0], r[3]) for r in rows],
             "text": ["%s %s" % (r[0], r[2]) for r in rows],
             "utt2spk": ["%s %s" % (r[0], r[1]) for r in rows],
             "spk2utt": ["%s %s" % (s, " ".join(u)) for s, u in speakers]}
    if rows and all(r[4] is not None for r in rows):
        files["utt2dur"] = ["%s %.3f" % (r[0], r[4]) for r in rows]
    for name, lines in files.items():
        write_lines(os.path.join(d, name), lines)
