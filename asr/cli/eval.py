"""asr-eval: word error rate of each precision on a data set."""
import argparse
import json
import os
import sys

from .common import (HelpFormatter, Progress, add_model_options, add_progress_option, error,
                     make_recognizer)

DESCRIPTION = """\
Score a data set: WER (substitutions, deletions, insertions), sentence error
rate, agreement of int16/int8 transcripts with float, and real-time factor
per stage (features, acoustic model, decoder).

DATA is a TSV file of PATH<TAB>REFERENCE lines (paths relative to the file)
or a Kaldi-style directory with wav.scp and text. References and hypotheses
are normalized alike: lower case, digits spelled out, punctuation except
apostrophes removed (asr/text.py).

With --greedy the hypotheses are phones (CTC best path, no lexicon or LM),
so the score is a phone error rate against the references' pronunciations
(first lexicon entry of each word); utterances with a word outside the
lexicon are left out and counted. --by-speaker adds one row per speaker
(utt2spk of a Kaldi directory).

--ci adds 95 % intervals (bootstrap over utterances, 1000 draws, fixed
seed): of each precision's WER, and of int16 - float and int8 - float drawn
as pairs on the same utterances, which tells whether a difference between
precisions is more than the choice of recordings."""


def load_data(path):
    """List of (utt_id, audio path, reference text)."""
    from ..errors import AsrError
    items = []
    if os.path.isdir(path):
        scp, txt = os.path.join(path, "wav.scp"), os.path.join(path, "text")
        if not (os.path.exists(scp) and os.path.exists(txt)):
            raise AsrError("%s: a data directory needs wav.scp and text" % path)
        refs = {}
        with open(txt, encoding="utf-8") as f:
            for line in f:
                parts = line.rstrip("\n").split(None, 1)
                if parts:
                    refs[parts[0]] = parts[1] if len(parts) > 1 else ""
        with open(scp, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                parts = line.strip().split(None, 1)
                if not parts:
                    continue
                if len(parts) != 2 or parts[1].endswith("|"):
                    raise AsrError("%s:%d: wav.scp lines must be 'UTT PATH' (pipes unsupported)" % (scp, n))
                wav = parts[1] if os.path.isabs(parts[1]) else os.path.join(path, parts[1])
                if parts[0] in refs:
                    items.append((parts[0], wav, refs[parts[0]]))
    else:
        base = os.path.dirname(os.path.abspath(path))
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip() or line.startswith("#"):
                    continue
                parts = line.rstrip("\n").split("\t", 1)
                if len(parts) != 2:
                    raise AsrError("%s:%d: expected PATH<TAB>REFERENCE" % (path, n))
                wav = parts[0] if os.path.isabs(parts[0]) else os.path.join(base, parts[0])
                items.append((os.path.splitext(os.path.basename(parts[0]))[0], wav, parts[1]))
    if not items:
        raise AsrError("%s: no utterances" % path)
    return items


def load_speakers(path):
    """utt -> speaker from a Kaldi directory's utt2spk ({} if none)."""
    f = os.path.join(path, "utt2spk") if os.path.isdir(path) else None
    if not f or not os.path.exists(f):
        return {}
    out = {}
    with open(f, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 2:
                out[parts[0]] = parts[1]
    return out


def phone_reference(text, prons):
    """The reference as phones (lower case), or None if a word has no pronunciation."""
    out = []
    for w in text.split():
        if w not in prons:
            return None
        out.extend(prons[w])
    return " ".join(p.lower() for p in out)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="asr-eval", description=DESCRIPTION, formatter_class=HelpFormatter)
    p.add_argument("data", metavar="DATA", help="TSV file or Kaldi-style data directory")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--every", type=int, default=1,
                   help="score every Nth utterance in file order (a spread-out subset; 1: all)")
    p.add_argument("--limit", type=int, default=0, help="score only the first N utterances (0: all)")
    p.add_argument("--hyp-out", help="write hypotheses to this TSV (utt, precision, text)")
    p.add_argument("--by-speaker", action="store_true", help="also score each speaker (utt2spk)")
    p.add_argument("--ci", action="store_true",
                   help="95 %% bootstrap intervals of each WER and of each precision minus float")
    add_progress_option(p)
    add_model_options(p, multi=True)
    args = p.parse_args(argv)
    args.precisions = [x.strip() for x in args.precision.split(",") if x.strip()]
    for x in args.precisions:
        if x not in ("float", "int16", "int8"):
            p.error("unknown precision %r" % x)
    if args.every < 1:
        p.error("--every must be at least 1")
    if args.model and len(args.precisions) > 1:
        p.error("--model names one file: give a single --precision with it")
    return args


def evaluate(args):
    from ..audio import read_audio
    from ..text import ErrorCounts, normalize
    items = load_data(args.data)[::args.every]
    if args.limit:
        items = items[:args.limit]
    report = {"data": args.data, "utterances": len(items), "precisions": {},
              "unit": "phone" if args.greedy else "word"}
    speakers = load_speakers(args.data) if args.by_speaker else {}
    prons = None
    if args.greedy:
        from ..lexicon import read_prons
        from ..stream import find_model_file
        prons = {}
        for w, p in read_prons(args.lexicon or find_model_file("en-us.asrlex")):
            prons.setdefault(w, p)
    hyps = {}
    scored = {}         # precision -> {utt: (errors, reference words)}
    audio = {}
    for prec in args.precisions:
        # --frontend int applies to the integer precisions; float models have only float
        rec = make_recognizer(args, precision=prec,
                              frontend="auto" if prec == "float" and args.frontend == "int" else None)
        counts = ErrorCounts()
        per_spk = {}
        no_pron = 0
        stage = {"features": 0.0, "model": 0.0, "decoder": 0.0}
        seconds, failed = 0.0, 0
        hyps[prec] = {}
        scored[prec] = {}
        bar = Progress(len(items), prec, enabled=args.progress)
        for utt, wav, ref in items:
            bar.step(utt)
            ref = normalize(ref)
            if prons is not None:
                ref = phone_reference(ref, prons)
                if ref is None:
                    no_pron += 1
                    continue
            try:
                if wav not in audio:
                    audio[wav] = read_audio(wav, rec.sample_rate)
                x = audio[wav]
            except Exception as exc:  # report and go on: one bad file doesn't stop the set
                error("asr-eval: %s" % exc)
                failed += 1
                continue
            s = rec.stream()
            s.accept(x)
            s.finish()
            from ..stream import merge_results
            text = normalize(merge_results(s.results).text)
            hyps[prec][utt] = text
            scored[prec][utt] = (counts.add(ref, text), len(ref.split()))
            if utt in speakers:
                per_spk.setdefault(speakers[utt], ErrorCounts()).add(ref, text)
            for k in stage:
                stage[k] += s.timings[k]
            seconds += s.audio_seconds
        entry = counts.to_dict()
        total = sum(stage.values())
        entry["rtf"] = {k: round(v / seconds, 5) for k, v in stage.items()} if seconds else {}
        entry["rtf"]["total"] = round(total / seconds, 5) if seconds else 0.0
        entry["audio_seconds"] = round(seconds, 2)
        entry["frontend"] = rec.frontend
        entry["failed"] = failed
        if prons is not None:
            entry["no_pronunciation"] = no_pron
        if per_spk:
            entry["speakers"] = {k: per_spk[k].to_dict() for k in sorted(per_spk)}
        entry["kernel"] = rec.network.kernel
        if "float" in hyps and prec != "float":
            same = [hyps[prec].get(u) == hyps["float"].get(u) for u in hyps[prec]]
            entry["agreement_with_float"] = round(sum(same) / max(len(same), 1), 5)
        if args.ci:
            add_intervals(entry, scored, prec)
        report["precisions"][prec] = entry
    if args.hyp_out:
        with open(args.hyp_out, "w", encoding="utf-8") as f:
            for prec, h in hyps.items():
                for utt, text in h.items():
                    f.write("%s\t%s\t%s\n" % (utt, prec, text))
    return report


def add_intervals(entry, scored, prec):
    """--ci: the entry's "wer_ci95" and, against float, "minus_float"."""
    from ..text import wer_interval
    utts = sorted(scored[prec])
    errors = [scored[prec][u][0] for u in utts]
    words = [scored[prec][u][1] for u in utts]
    entry["wer_ci95"] = [round(v, 5) for v in wer_interval(errors, words)]
    if "float" in scored and prec != "float":
        both = [u for u in utts if u in scored["float"]]
        e = [scored[prec][u][0] for u in both]
        base = [scored["float"][u][0] for u in both]
        w = [scored[prec][u][1] for u in both]
        entry["minus_float"] = {"wer": round((sum(e) - sum(base)) / max(sum(w), 1), 5),
                                "utterances": len(both),
                                "ci95": [round(v, 5) for v in wer_interval(e, w, base_errors=base)]}


def print_table(report):
    print("%s: %d utterances%s" % (report["data"], report["utterances"],
                                   ", phone error rate (greedy)" if report["unit"] == "phone" else ""))
    print("%-9s %7s %7s %6s %6s %6s %9s %8s %8s %8s %8s" % (
        "precision", "PER%" if report["unit"] == "phone" else "WER%", "SER%", "sub", "del", "ins", "agree%", "rtf.feat", "rtf.am", "rtf.dec", "rtf"))
    for prec, e in report["precisions"].items():
        agree = e.get("agreement_with_float")
        print("%-9s %7.2f %7.2f %6d %6d %6d %9s %8.4f %8.4f %8.4f %8.4f" % (
            prec, 100 * e["wer"], 100 * e["ser"], e["substitutions"], e["deletions"], e["insertions"],
            "-" if agree is None else "%.1f" % (100 * agree), e["rtf"].get("features", 0),
            e["rtf"].get("model", 0), e["rtf"].get("decoder", 0), e["rtf"].get("total", 0)))
    for prec, e in report["precisions"].items():
        if "wer_ci95" in e:
            lo, hi = e["wer_ci95"]
            line = "%-9s %s 95 %% interval %.2f .. %.2f" % (
                prec, "PER" if report["unit"] == "phone" else "WER", 100 * lo, 100 * hi)
            if "minus_float" in e:
                d = e["minus_float"]
                line += "; minus float %+.2f (%+.2f .. %+.2f)" % (
                    100 * d["wer"], 100 * d["ci95"][0], 100 * d["ci95"][1])
            print(line)
    for prec, e in report["precisions"].items():
        for spk, c in e.get("speakers", {}).items():
            print("  %-7s %-32s %7.2f %7.2f %6d utterances" % (prec, spk, 100 * c["wer"], 100 * c["ser"],
                                                             c["sentences"]))


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from ..errors import AsrError
    try:
        report = evaluate(args)
    except (AsrError, OSError) as exc:
        error("asr-eval: %s" % exc)
        return 1
    if args.json:
        print(json.dumps(report))
    else:
        print_table(report)
    return 1 if any(e["failed"] for e in report["precisions"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
