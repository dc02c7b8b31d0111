#!/usr/bin/env bash
# Train while the corpus grows: refresh the corpus index, cache features of
# new utterances, train one epoch, repeat. Each step resumes from what is on
# disk, so the loop can be killed at any point and started again.
#
#   EPOCHS=60 nohup bash tools/train_loop.sh > work/train_loop.out 2>&1 &
#   touch work/train/STOP          # finish the current epoch, then stop
#
# Extra arguments go to `tools/train.py train`, e.g. --init models/en-us-float.asrm
# to fine-tune the bundled model instead of starting from random weights.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${ASR_WORK:-work}
EPOCHS=${EPOCHS:-60}
mkdir -p "$WORK/train"
while true; do
    if [ -e "$WORK/train/STOP" ]; then
        echo "$(date -Is) STOP file found"; break
    fi
    python -m tools.corpus.synth --index-only
    python -m tools.train features
    python -m tools.train train --epochs "$EPOCHS" --one-epoch "$@"
    done_epochs=$(python -c "import torch; print(torch.load('$WORK/train/last.pt', weights_only=False)['state']['epoch'])")
    echo "$(date -Is) epoch $done_epochs done"
    if [ "$done_epochs" -ge "$EPOCHS" ]; then break; fi
done
