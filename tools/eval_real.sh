#!/usr/bin/env bash
# WER of the bundled model (or the one in $ASR_MODEL_DIR) on every set of real
# recordings, at float, int16 and int8, beside PocketSphinx on the same audio:
#
#   bash tools/eval_real.sh                 # -> work/eval/<set>.json, <set>.pocketsphinx.json
#   POCKETSPHINX=0 bash tools/eval_real.sh  # this project's model only
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
    asr-eval "$dir" --every "$every" --by-speaker --json ${EVAL_ARGS:-} > "$OUT/$name.json"
    if [ "${POCKETSPHINX:-1}" = 1 ] && [ ! -s "$OUT/$name.pocketsphinx.json" ]; then
        python -m tools.pocketsphinx_wer "$dir" --every "$every" --json > "$OUT/$name.pocketsphinx.json"
    fi
done
python - "$OUT" "${sets[@]}" <<'EOF'
import json, os, sys
out = sys.argv[1]
print("| set | utterances | words | float | int16 | int8 | PocketSphinx |")
print("|---|---|---|---|---|---|---|")
for s in sys.argv[2:]:
    name = s.split()[0]
    r = json.load(open(os.path.join(out, name + ".json")))
    p = r["precisions"]
    words = next(iter(p.values()))["ref_words"]
    ps = os.path.join(out, name + ".pocketsphinx.json")
    ps = "%.2f" % (100 * json.load(open(ps))["wer"]) if os.path.exists(ps) else "-"
    print("| %s | %d | %d | %s | %s | %s | %s |" % (
        name, r["utterances"], words,
        *("%.2f" % (100 * p[k]["wer"]) if k in p else "-" for k in ("float", "int16", "int8")), ps))
EOF
