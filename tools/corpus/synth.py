#!/usr/bin/env python3
"""Synthesize the multi-voice training corpus, offline and resumably.

    bash tools/corpus/install_voices.sh
    python -m tools.corpus.synth --hours 50 --workers 2
    python -m tools.corpus.synth --index-only      # Kaldi files from the wavs on disk now

Writes work/corpus/wav/<split>/<speaker>/<utt>.wav (16 kHz mono 16-bit) and
Kaldi directories work/corpus/{train,valid,test}/ (wav.scp with absolute
paths, text, utt2spk, spk2utt, utt2dur). The plan (which voice says which
sentence) is a deterministic function of the text lists, --hours and the
voice registry, and a larger --hours extends it without changing what is
already planned. A wav is written under a temporary name and renamed, so an
existing wav is complete and is never redone: rerun the same command to
resume. The index is rewritten every few minutes while synthesis runs, so
a partial corpus can be trained on. Progress goes to work/corpus/synth.log.
"""
import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
import wave
import zlib
from multiprocessing import Pool

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
from tools.corpus import augment
from tools.corpus import texts
from tools.corpus import voices
from tools.corpus.kaldi import write_dir

CORPUS = texts.CORPUS
SPLITS = ("train", "valid", "test")


def est_seconds(text, engine):
    """Planning estimate of an utterance's length in seconds (before augmentation pads)."""
    return 0.45 + voices.SEC_PER_WORD[engine] * len(text.split())


def read_lines(path):
    with open(path) as f:
        return [l.strip() for l in f if l.strip()]


def plan(corpus, train_hours, valid_hours, test_hours):
    """All utterances to make: list of (uttid, split, speaker, text), in synthesis order.

    Each voice walks its own cyclic path through its split's sentence list
    (start offset from a hash of the speaker id) until its share of the
    split's hours is planned; utterance ids number that path, so a larger
    target only appends. Order: test, valid, then train interleaved so every
    voice advances at the same pace (a partial corpus is balanced).
    """
    sent = {s: read_lines(os.path.join(corpus, "text", s + ".txt")) for s in SPLITS}
    train_voices = [v for v in voices.VOICES if v.split == "train"]
    test_voices = [v for v in voices.VOICES if v.split == "test"]
    jobs = []
    for split, vs, hours, tag in (("test", test_voices, test_hours, "te"),
                                  ("valid", train_voices, valid_hours, "va"),
                                  ("train", train_voices, train_hours, "tr")):
        lines = sent[split]
        total_share = sum(v.share for v in vs)
        per_voice = []
        for v in vs:
            target = hours * 3600.0 * v.share / total_share
            start = zlib.crc32(v.speaker.encode()) % len(lines)
            got, i, mine = 0.0, 0, []
            while got < target:
                text = lines[(start + i) % len(lines)]
                mine.append(("%s-%s%06d" % (v.speaker, tag, i), split, v.speaker, text))
                got += est_seconds(text, v.engine)
                i += 1
            per_voice.append(mine)
        order = []
        for mine in per_voice:
            n = len(mine)
            order += [((k + 0.5) / n, u) for k, u in enumerate(mine)]
        order.sort(key=lambda t: (t[0], t[1][0]))
        jobs += [u for _, u in order]
    return jobs


def wav_path(corpus, split, spk, utt):
    return os.path.join(corpus, "wav", split, spk, utt + ".wav")


def write_wav(path, x):
    """float32 [-1, 1] at 16 kHz -> 16-bit mono wav, atomically (temp name, then rename)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path[:-4] + ".tmp%d.wav" % os.getpid()
    pcm = np.clip(np.round(x * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(tmp, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(augment.SR)
        w.writeframes(pcm.tobytes())
    os.replace(tmp, path)


def wav_seconds(path):
    """Duration of a 44-byte-header 16-bit 16 kHz mono wav from its size, in seconds."""
    return max(0, os.path.getsize(path) - 44) / 2.0 / augment.SR


def utt_seed(utt):
    return int.from_bytes(hashlib.sha256(utt.encode()).digest()[:8], "little")


# ---- worker -----------------------------------------------------------------------------
_W = {}


def _init_worker(corpus, babble_texts):
    """Per-process state: a temp dir and a deterministic babble bank (train espeak voices)."""
    tmp = tempfile.mkdtemp(prefix="tts-", dir=os.path.join(corpus, "tmp"))
    _W["tmp"] = tmp
    _W["corpus"] = corpus
    espeak = [v for v in voices.VOICES if v.engine == "espeak" and v.split == "train"]
    bank = []
    for i, text in enumerate(babble_texts):
        v = espeak[i % len(espeak)]
        x, sr = voices.synthesize(v, text, np.random.default_rng(i), tmp)
        bank.append(augment.resample(x, sr, augment.SR))
    _W["babble"] = bank
    _W["voices"] = voices.by_speaker()


def _work(job):
    """Make one utterance; returns (utt, split, speaker, seconds, error or None)."""
    utt, split, spk, text = job
    path = wav_path(_W["corpus"], split, spk, utt)
    if os.path.exists(path):
        return utt, split, spk, wav_seconds(path), None
    try:
        seed = utt_seed(utt)
        x, sr = voices.synthesize(_W["voices"][spk], text, np.random.default_rng(seed), _W["tmp"])
        if len(x) < sr * 0.1:
            raise RuntimeError("engine produced %d samples" % len(x))
        y = augment.augment(x, sr, np.random.default_rng(seed + 1), _W["babble"])
        write_wav(path, y)
        return utt, split, spk, len(y) / augment.SR, None
    except Exception as e:  # one bad utterance doesn't stop the others
        msg = str(e)
        if getattr(e, "stderr", None):
            msg += " " + e.stderr.decode(errors="replace")[:200]
        return utt, split, spk, 0.0, msg


def remove_leftovers(corpus):
    """Delete temp dirs and half-written wavs (*.tmp<pid>.wav) of a run that was stopped."""
    tmp = os.path.join(corpus, "tmp")
    for d in os.listdir(tmp):
        shutil.rmtree(os.path.join(tmp, d), ignore_errors=True)
    root = os.path.join(corpus, "wav")
    for split in os.listdir(root) if os.path.isdir(root) else []:
        for spk in os.listdir(os.path.join(root, split)):
            d = os.path.join(root, split, spk)
            for name in os.listdir(d):
                if ".tmp" in name:
                    os.remove(os.path.join(d, name))


# ---- index ------------------------------------------------------------------------------
def save_plan(corpus, jobs):
    """Write plan.tsv; a planned wav whose text changed since the last plan is deleted."""
    path = os.path.join(corpus, "plan.tsv")
    old = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                utt, split, spk, text = line.rstrip("\n").split("\t")
                old[utt] = (split, spk, text)
    stale = 0
    for utt, split, spk, text in jobs:
        prev = old.get(utt)
        if prev and prev != (split, spk, text):
            p = wav_path(corpus, prev[0], prev[1], utt)
            if os.path.exists(p):
                os.remove(p)
                stale += 1
    merged = dict(old)
    merged.update({u: (sp, spk, t) for u, sp, spk, t in jobs})
    with open(path + ".tmp", "w") as f:
        for utt in sorted(merged):
            f.write("%s\t%s\t%s\t%s\n" % ((utt,) + merged[utt]))
    os.replace(path + ".tmp", path)
    return stale


def write_index(corpus):
    """Kaldi dirs from plan.tsv and the wavs that exist now; returns {split: (utts, hours)}."""
    entries = {s: [] for s in SPLITS}
    with open(os.path.join(corpus, "plan.tsv")) as f:
        for line in f:
            utt, split, spk, text = line.rstrip("\n").split("\t")
            p = wav_path(corpus, split, spk, utt)
            if os.path.exists(p):
                entries[split].append((utt, spk, text, os.path.abspath(p), wav_seconds(p)))
    summary = {}
    for split, rows in entries.items():
        write_dir(os.path.join(corpus, split), rows)
        summary[split] = (len(rows), sum(r[4] for r in rows) / 3600.0)
    return summary


class Log:
    """Progress lines to stderr and synth.log."""

    def __init__(self, path):
        self.f = open(path, "a")

    def __call__(self, msg):
        line = time.strftime("%Y-%m-%d %H:%M:%S ") + msg
        print(line, file=sys.stderr, flush=True)
        self.f.write(line + "\n")
        self.f.flush()


def report(log, done, t0, made_sec):
    by_split, by_spk = {}, {}
    for (split, spk), sec in done.items():
        by_split[split] = by_split.get(split, 0.0) + sec
        by_spk[spk] = by_spk.get(spk, 0.0) + sec
    hours = time.time() - t0
    rate = made_sec / max(hours, 1.0)  # audio seconds per wall second this run
    log("hours " + " ".join("%s=%.2f" % (s, by_split.get(s, 0) / 3600) for s in SPLITS)
        + " | this run %.2f h audio at %.0f h audio per wall hour" % (made_sec / 3600, rate))
    log("per voice (h) " + " ".join("%s=%.2f" % (k, v / 3600) for k, v in sorted(by_spk.items())))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--hours", type=float, default=50.0, help="train hours to plan (estimate)")
    ap.add_argument("--valid-hours", type=float, default=1.0, help="valid hours (train voices)")
    ap.add_argument("--test-hours", type=float, default=1.5, help="test hours (held-out voices)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes")
    ap.add_argument("--out", default=CORPUS, help="corpus directory")
    ap.add_argument("--index-only", action="store_true", help="only rewrite the Kaldi files")
    ap.add_argument("--index-every", type=float, default=300.0, help="seconds between index rewrites")
    args = ap.parse_args(argv)
    corpus = os.path.abspath(args.out)
    os.makedirs(os.path.join(corpus, "tmp"), exist_ok=True)
    log = Log(os.path.join(corpus, "synth.log"))
    if args.index_only:
        s = write_index(corpus)
        log("index: " + " ".join("%s=%d utts %.2f h" % (k, n, h) for k, (n, h) in s.items()))
        return 0
    if not os.path.exists(os.path.join(corpus, "text", "test.txt")):
        log("texts: " + str(texts.build(corpus, 1200, 1800)))
    remove_leftovers(corpus)
    jobs = plan(corpus, args.hours, args.valid_hours, args.test_hours)
    stale = save_plan(corpus, jobs)
    done, todo = {}, []
    for job in jobs:
        p = wav_path(corpus, job[1], job[2], job[0])
        if os.path.exists(p):
            key = (job[1], job[2])
            done[key] = done.get(key, 0.0) + wav_seconds(p)
        else:
            todo.append(job)
    log("plan: %d utterances, %d exist, %d to make, %d stale removed; workers=%d"
        % (len(jobs), len(jobs) - len(todo), len(todo), stale, args.workers))
    write_index(corpus)
    train_text = read_lines(os.path.join(corpus, "text", "train.txt"))
    babble_texts = [t for t in train_text if len(t.split()) >= 8][:40]
    t0 = last_log = last_index = time.time()
    made, failed = 0.0, 0
    with Pool(args.workers, _init_worker, (corpus, babble_texts)) as pool:
        for utt, split, spk, sec, err in pool.imap_unordered(_work, todo, chunksize=4):
            if err:
                failed += 1
                log("FAILED %s: %s" % (utt, err))
                continue
            made += sec
            done[(split, spk)] = done.get((split, spk), 0.0) + sec
            now = time.time()
            if now - last_log > 60:
                report(log, done, t0, made)
                last_log = now
            if now - last_index > args.index_every:
                write_index(corpus)
                last_index = now
    report(log, done, t0, made)
    s = write_index(corpus)
    log("done; %d failed; index: " % failed
        + " ".join("%s=%d utts %.2f h" % (k, n, h) for k, (n, h) in s.items()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
