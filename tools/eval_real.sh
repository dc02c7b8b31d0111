#!/usr/bin/env bash
# WER of the bundled model (or the one in $ASR_MODEL_DIR) on every set of real
# recordings, at float, int16 and int8, beside PocketSphinx on the same audio:
#
#   bash tools/eval_real.sh                 # -> work/eval/<set>.json, <set>.pocketsphinx.json
#   POCKETSPHINX=0 bash tools/eval_real.sh  # this project's model only
#
# Besides the WER table, a table of differences with their 95 % bootstrap
# intervals over utterances, drawn in pairs on the same recordings: int16 and
# int8 minus float, and int8 minus PocketSphinx, so a difference can be told
# from the luck of which recordings were drawn.
#
# The sets: work/real (tools/corpus/real_testset.py), and the test-only sets of
# ../shared/speech, every 3rd utterance of cv-test and every 6th of so762-test
# (the subsets the project has compared PocketSphinx on; FULL=1 scores all of
# them). Test sets only report: nothing here chooses a model or a setting.
set -euo pipefail
cd "$(dirname "$0")/.."
SPEECH=${SPEECH:-../shared/speech}
OUT=${OUT:-work/eval}
mkdir -p "$OUT"
if [ "${FULL:-0}" = 1 ]; then every_cv=1; every_so=1; else every_cv=3; every_so=6; fi
sets=("real work/real 1" "cv-test $SPEECH/cv-test $every_cv" "so762-test $SPEECH/so762-test $every_so")
[ -d work/real ] || python -m tools.corpus.real_testset
for s in "${sets[@]}"; do
    read -r name dir every <<< "$s"
    asr-eval "$dir" --every "$every" --by-speaker --ci --json --hyp-out "$OUT/$name.hyp.tsv" \
        ${EVAL_ARGS:-} > "$OUT/$name.json"
    if [ "${POCKETSPHINX:-1}" = 1 ] && [ ! -s "$OUT/$name.pocketsphinx.json" ]; then
        python -m tools.pocketsphinx_wer "$dir" --every "$every" --json > "$OUT/$name.pocketsphinx.json"
    fi
done
python - "$OUT" "${sets[@]}" <<'EOF'
import json, os, sys
from asr.cli.eval import load_data
from asr.text import align, normalize, wer_interval
out = sys.argv[1]
print("| set | utterances | words | float | int16 | int8 | PocketSphinx |")
print("|---|---|---|---|---|---|---|")
diffs = []
for s in sys.argv[2:]:
    name, data, every = s.split()
    r = json.load(open(os.path.join(out, name + ".json")))
    p = r["precisions"]
    words = next(iter(p.values()))["ref_words"]
    ps = os.path.join(out, name + ".pocketsphinx.json")
    ps = json.load(open(ps)) if os.path.exists(ps) else None
    print("| %s | %d | %d | %s | %s | %s | %s |" % (
        name, r["utterances"], words,
        *("%.2f" % (100 * p[k]["wer"]) if k in p else "-" for k in ("float", "int16", "int8")),
        "%.2f" % (100 * ps["wer"]) if ps else "-"))
    row = [name]
    for k in ("int16", "int8"):
        d = p.get(k, {}).get("minus_float")
        row.append("%+.2f (%+.2f .. %+.2f)" % (100 * d["wer"], 100 * d["ci95"][0], 100 * d["ci95"][1])
                   if d else "-")
    cell = "-"
    if ps:      # int8 - PocketSphinx, paired over the same utterances
        refs = {u: normalize(t).split() for u, _, t in load_data(data)[::int(every)]}
        ours = {}
        for line in open(os.path.join(out, name + ".hyp.tsv"), encoding="utf-8"):
            utt, prec, text = (line.rstrip("\n").split("\t") + [""])[:3]
            if prec == "int8":
                ours[utt] = text.split()
        both = [u for u in refs if u in ours and u in ps["hyps"]]
        e = [sum(align(refs[u], ours[u])) for u in both]
        b = [sum(align(refs[u], ps["hyps"][u].split())) for u in both]
        w = [len(refs[u]) for u in both]
        lo, hi = wer_interval(e, w, base_errors=b)
        cell = "%+.2f (%+.2f .. %+.2f)" % (100 * (sum(e) - sum(b)) / sum(w), 100 * lo, 100 * hi)
    diffs.append(row + [cell])
print()
print("| set | int16 - float | int8 - float | int8 - PocketSphinx |")
print("|---|---|---|---|")
for row in diffs:
    print("| %s |" % " | ".join(row))
print()
print("WER points; in brackets the 95 % bootstrap interval over utterances, paired (asr-eval --ci).")
EOF
