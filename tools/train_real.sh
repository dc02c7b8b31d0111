#!/usr/bin/env bash
# Train on recorded and synthetic speech together, from one command: build the
# training/validation directories of the recorded sets (tools/corpus/real_sets.py),
# cache their features with perturbed copies, refresh the synthetic corpus's
# index and features (it may still be growing), train one epoch on a mix drawn
# from all of them, repeat. Every step resumes from what is on disk.
#
#   bash tools/corpus/install_voices.sh
#   nohup nice python -m tools.corpus.synth --hours 50 --workers 1 > work/synth.out 2>&1 &
#   EPOCHS=8 nohup bash tools/train_real.sh --init models/en-us-float.asrm --lr 3e-4 --warp 0.1 \
#       > work/train_real.out 2>&1 &
#   touch work/train/STOP          # finish the current epoch, then stop
#
# MIX gives the hours of audio drawn from each cached split per epoch; the
# recorded sets' cached hours include their perturbed copies (COPIES_*).
# Validation scores the synthetic validation voices and the held-out parts of
# cv and so762 at every epoch; work/train/best.pt is the epoch with the lowest
# mean phone error rate on the recorded ones. The test-only sets are never read.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${ASR_WORK:-work}
EPOCHS=${EPOCHS:-8}
SPEECH=${SPEECH:-../shared/speech}
MIX=${MIX:-train=5,cv-train=2.5,so762-train=1.5,keywords-train=0.3,fsdd-train=0.15}
mkdir -p "$WORK/train"
python -m tools.corpus.real_sets --speech "$SPEECH"
while true; do
    if [ -e "$WORK/train/STOP" ]; then
        echo "$(date -Is) STOP file found"; break
    fi
    python -m tools.corpus.synth --index-only
    python -m tools.train features
    python -m tools.train features --split cv-valid --split so762-valid
    python -m tools.train features --split cv-train --copies "${COPIES_CV:-2}"
    python -m tools.train features --split so762-train --copies "${COPIES_SO762:-1}"
    python -m tools.train features --split keywords-train --split fsdd-train --copies "${COPIES_WORDS:-1}"
    python -m tools.train train --epochs "$EPOCHS" --one-epoch --mix "$MIX" \
        --valid valid,cv-valid,so762-valid --select cv-valid,so762-valid "$@"
    done_epochs=$(python -c "import torch; print(torch.load('$WORK/train/last.pt', weights_only=False)['state']['epoch'])")
    echo "$(date -Is) epoch $done_epochs done"
    if [ "$done_epochs" -ge "$EPOCHS" ]; then break; fi
done
