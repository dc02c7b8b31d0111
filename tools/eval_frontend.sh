#!/usr/bin/env bash
# WER of the int8 and int16 models with the integer feature frontend beside
# the float one, on every set of real recordings (the sets and subsets of
# tools/eval_real.sh: work/real, every 3rd utterance of cv-test, every 6th
# of so762-test; FULL=1 scores all of them):
#
#   bash tools/eval_frontend.sh      # -> work/eval-frontend/<set>.<frontend>.json + a table
#
# The integer frontend is the default of the integer models only if every
# difference stays within 0.2 points (asr.stream.INT_MODEL_FRONTEND). Test
# sets only report: nothing here chooses a format or a table size.
set -euo pipefail
cd "$(dirname "$0")/.."
SPEECH=${SPEECH:-../shared/speech}
REAL=${REAL:-work/real}
OUT=${OUT:-work/eval-frontend}
mkdir -p "$OUT"
if [ "${FULL:-0}" = 1 ]; then every_cv=1; every_so=1; else every_cv=3; every_so=6; fi
sets=("real $REAL 1" "cv-test $SPEECH/cv-test $every_cv" "so762-test $SPEECH/so762-test $every_so")
for s in "${sets[@]}"; do
    read -r name dir every <<< "$s"
    for fe in float int; do
        [ -s "$OUT/$name.$fe.json" ] && continue
        python -m asr.cli.eval "$dir" --every "$every" --precision int16,int8 --frontend "$fe" \
            --json --no-progress > "$OUT/$name.$fe.json"
    done
done
python - "$OUT" "${sets[@]}" <<'PY'
import json, os, sys
out = sys.argv[1]
print("| set | utterances | precision | WER float frontend | WER int frontend | difference |")
print("|---|---|---|---|---|---|")
worst = 0.0
for s in sys.argv[2:]:
    name = s.split()[0]
    r = {fe: json.load(open(os.path.join(out, "%s.%s.json" % (name, fe)))) for fe in ("float", "int")}
    for prec in ("int16", "int8"):
        a, b = (100 * r[fe]["precisions"][prec]["wer"] for fe in ("float", "int"))
        worst = max(worst, abs(b - a))
        print("| %s | %d | %s | %.2f | %.2f | %+.2f |" % (name, r["int"]["utterances"], prec, a, b, b - a))
print("\nlargest |difference|: %.2f points (bound 0.2)" % worst)
PY
