"""Out-of-grammar rejection in phrase mode: false accepts and false rejects
against a command list, per confidence threshold (asr.rejection).

False accepts: recordings of sentences that are not commands which still
produce a result. False rejects: recordings of a command that produce no
result (a result with the wrong command is counted apart, as "wrong").

  --choose   picks the threshold on held-out parts of the training sets:
             sentences from work/corpus/cv-valid and so762-valid (never
             trained on) and command clips from work/corpus/fsdd-train and
             keywords-train (trained on: their confidences run higher than
             unseen speakers'), minimizing false-accept rate + false-reject
             rate. Built by tools/corpus/real_sets.py.
  default    reports both rates at --threshold (default: the library's
             DEFAULT_REJECT) on the test sets, once: sentences of
             SPEECH/cv-test and so762-test, commands spoken by Asterisk's
             professional voice (Debian's asterisk-core-sounds-en-wav,
             never trained on), and the training command clips again.

    python -m tools.oog_report --choose
    python -m tools.oog_report --speech ../shared/speech [--plot oog.png]
"""
import argparse
import gzip
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from asr import Recognizer                       # noqa: E402
from asr.audio import read_audio                 # noqa: E402
from asr.cli.eval import load_data               # noqa: E402
from asr.rejection import DEFAULT_REJECT         # noqa: E402
from asr.text import normalize                   # noqa: E402

COMMANDS = os.path.join(ROOT, "tools", "corpus", "commands.txt")
ASTERISK = "/usr/share/asterisk/sounds/en"
ASTERISK_TEXT = "/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
GRID = np.round(np.arange(0.0, 1.0001, 0.01), 2)


def read_commands(path):
    with open(path, encoding="utf-8") as f:
        return [normalize(line) for line in f if line.strip() and not line.startswith("#")]


def asterisk_commands(commands, sounds=ASTERISK, texts=ASTERISK_TEXT):
    """[(id, path, text)] of the Asterisk prompts whose whole text is a command."""
    if not (os.path.isdir(sounds) and os.path.exists(texts)):
        return []
    wanted, items = set(commands), []
    with gzip.open(texts, "rt", encoding="utf-8") as f:
        for line in f:
            name, sep, text = line.partition(": ")
            path = os.path.join(sounds, name.strip() + ".wav")
            if sep and normalize(text) in wanted and os.path.exists(path):
                items.append(("asterisk-" + name.strip(), path, normalize(text)))
    return items


def command_clips(path, commands, every):
    """The clips of a Kaldi dir whose reference is a command, every Nth."""
    items = [(u, p, normalize(t)) for u, p, t in load_data(path)]
    return [x for x in items if x[2] in set(commands)][::every]


def best_result(rec, path):
    """(confidence, text) of the recording's most confident phrase (0, '' if none)."""
    samples = read_audio(path, rec.sample_rate)
    s = rec.stream()
    s.accept(samples)
    s.finish()
    found = [(r.conf, r.text or r.rejected) for r in s.results if r.conf is not None]
    return max(found) if found else (0.0, "")


def score_set(rec, items, log):
    """[(confidence, hypothesis, reference)] for every item."""
    out = []
    for n, (utt, path, ref) in enumerate(items, 1):
        conf, text = best_result(rec, path)
        out.append((conf, text, ref))
        if n % 200 == 0:
            log("  %d/%d" % (n, len(items)))
    return out


def rates(scored, threshold):
    """(accepted, wrong, rejected) fractions at ``threshold``: accepted with
    the reference phrase, with another phrase, or no result."""
    if not scored:
        return (float("nan"),) * 3
    ok = sum(1 for c, h, r in scored if h and c >= threshold and c > 0 and h == r)
    wrong = sum(1 for c, h, r in scored if h and c >= threshold and c > 0 and h != r)
    n = float(len(scored))
    return ok / n, wrong / n, (len(scored) - ok - wrong) / n


def false_accepts(scored, threshold):
    return sum(1 for c, h, _ in scored if h and c > 0 and c >= threshold) / float(len(scored))


def choose(sentences, commands):
    """The grid threshold minimizing false-accept + false-reject rate."""
    cost = [false_accepts(sentences, t) + rates(commands, t)[2] for t in GRID]
    return float(GRID[int(np.argmin(cost))])


def curve_rows(named_sentences, named_commands):
    rows = []
    for t in GRID:
        row = [t] + [false_accepts(s, t) for _, s in named_sentences]
        row += [rates(c, t)[2] for _, c in named_commands]
        rows.append(row)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--speech", default=os.path.join(ROOT, "..", "shared", "speech"))
    ap.add_argument("--corpus", default=os.path.join(os.environ.get("ASR_WORK", "work"), "corpus"))
    ap.add_argument("--commands", default=COMMANDS, help="the command list, one phrase per line")
    ap.add_argument("--precision", default="int8")
    ap.add_argument("--choose", action="store_true", help="choose the threshold on held-out "
                    "training parts instead of reporting on the test sets")
    ap.add_argument("--threshold", type=float, default=DEFAULT_REJECT)
    ap.add_argument("--every", type=int, default=4, help="use every Nth training command clip")
    ap.add_argument("--curve", help="write the rates per threshold to this TSV")
    ap.add_argument("--plot", help="draw the curves to this PNG (needs matplotlib)")
    ap.add_argument("--redraw", metavar="TSV", help="only draw --plot from a --curve file written before")
    args = ap.parse_args(argv)
    if args.redraw:
        with open(args.redraw, encoding="utf-8") as f:
            header = f.readline().rstrip("\n").split("\t")
            rows = [[float(v) for v in line.split("\t")] for line in f if line.strip()]
        draw(header, rows, args.threshold, args.plot or os.path.splitext(args.redraw)[0] + ".png")
        return

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    commands = read_commands(args.commands)
    cset = set(commands)
    rec = Recognizer(phrases=commands, precision=args.precision, reject=0.0)
    train_cmds = []
    for name in ("fsdd-train", "keywords-train"):
        train_cmds += command_clips(os.path.join(args.corpus, name), commands, args.every)
    if args.choose:
        sent_dirs = [os.path.join(args.corpus, n) for n in ("cv-valid", "so762-valid")]
        named_cmds = [("training command clips", train_cmds)]
    else:
        sent_dirs = [os.path.join(args.speech, n) for n in ("cv-test", "so762-test")]
        named_cmds = [("Asterisk prompts (held out)", asterisk_commands(commands)),
                      ("training command clips", train_cmds)]
    named_sent = []
    for d in sent_dirs:
        items = [x for x in load_data(d) if normalize(x[2]) not in cset]
        log("%s: %d sentences" % (d, len(items)))
        named_sent.append((os.path.basename(os.path.normpath(d)), score_set(rec, items, log)))
    named_cmds = [(n, score_set(rec, items, log)) for n, items in named_cmds if items]

    threshold = args.threshold
    if args.choose:
        threshold = choose([x for _, s in named_sent for x in s], named_cmds[0][1])
        print("chosen threshold: %.2f (minimum false-accept + false-reject rate)" % threshold)
    print("%d commands, %s, threshold %.2f" % (len(commands), args.precision, threshold))
    print("| set | recordings | false accepts |")
    print("|---|---|---|")
    for name, s in named_sent:
        print("| %s sentences | %d | %.1f %% (without rejection %.1f %%) |"
              % (name, len(s), 100 * false_accepts(s, threshold), 100 * false_accepts(s, 0.0)))
    print("\n| commands | clips | accepted | wrong command | false rejects (without rejection) |")
    print("|---|---|---|---|---|")
    for name, c in named_cmds:
        ok, wrong, rej = rates(c, threshold)
        print("| %s | %d | %.1f %% | %.1f %% | %.1f %% (%.1f %%) |"
              % (name, len(c), 100 * ok, 100 * wrong, 100 * rej, 100 * rates(c, 0.0)[2]))
    rows = curve_rows(named_sent, named_cmds)
    header = ["threshold"] + ["FA " + n for n, _ in named_sent] + ["FR " + n for n, _ in named_cmds]
    if args.curve:
        with open(args.curve, "w", encoding="utf-8") as f:
            f.write("\t".join(header) + "\n")
            for r in rows:
                f.write("\t".join("%.4f" % v for v in r) + "\n")
    if args.plot:
        draw(header, rows, threshold, args.plot)


def draw(header, rows, threshold, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    a = np.array(rows)
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, name in enumerate(header[1:], 1):
        ax.plot(a[:, 0], 100 * a[:, i], label=name, linestyle="-" if name.startswith("FA") else "--")
    ax.axvline(threshold, color="grey", linewidth=0.8)
    ax.set_xlabel("confidence threshold (reject below)")
    ax.set_ylabel("% of recordings")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
