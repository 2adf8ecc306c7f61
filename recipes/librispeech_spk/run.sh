#!/usr/bin/env bash
# Speaker verification on LibriSpeech: train on librispeech-mini + cohort (251 speakers),
# test on librispeech-test-other (10 unseen speakers, all 4,950 pairs of 100 utterances).
#   DATA=path/to/shared/data bash recipes/librispeech_spk/run.sh [WORK_DIR]
# CPU only; each training is bounded by its config's step count (see conf/*.yaml).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
DATA="${DATA:?set DATA to the folder holding manifest.jsonl}"
WORK="${1:-exp_librispeech_spk}"
mkdir -p "$WORK" && cd "$WORK"

# 1. fbank features once (train: 1,770 utterances; no CMN, it is applied per crop)
[ -f cache/train.safetensors ] || python "$HERE/prepare.py" "$DATA" cache

# 2. the teacher first (KD needs it), then the students and ACA-Net
for cfg in bccmt_base bccmt_tiny bccmt_tiny_kd bccmt_tiny_kd30 bccmt_tiny_600 bccmt_tiny_kd_600 acanet acanet_240 acanet_240_lr3e-4; do
  [ -f "exp/$cfg/model.safetensors" ] || python "$HERE/train.py" "$HERE/conf/$cfg.yaml" cache "exp/$cfg" 2> "$cfg.log"
done

# 3. EER / minDCF on test-other (cosine and AS-norm with the 251-speaker cohort)
for cfg in bccmt_base bccmt_tiny bccmt_tiny_kd bccmt_tiny_kd30 bccmt_tiny_600 bccmt_tiny_kd_600 acanet acanet_240 acanet_240_lr3e-4; do
  python "$HERE/evaluate.py" "$DATA" "exp/$cfg" "exp/$cfg/results.json"
done

# 4. bundle the best Tiny (KD weight 1, 600 steps) with its card
python "$HERE/bundle.py" exp/bccmt_tiny_kd_600 exp/bccmt_tiny_kd_600/results.json bccmt_tiny_librispeech

# 5. its score calibration, on test-other speakers it never saw (the 8 the demo does not use)
python "$HERE/calibrate.py" "$DATA" bccmt_tiny_librispeech bccmt_tiny_librispeech/calibration_results.json
