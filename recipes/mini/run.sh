#!/usr/bin/env bash
# voxguard-mini end to end on CPU: build the benchmark, train AASIST-L, evaluate the eval scores.
# Run from the repository root. Every step resumes where it stopped when run again.
set -euo pipefail
voxguard data synth --out data/voxguard-mini --speakers 6 6 6 --utterances 12 --spoofs-per-utt 2 --workers 2 --seed 0
voxguard train recipes/mini/config.yaml --set data.dev=null "$@"
voxguard evaluate cm runs/mini_aasist_l_lr1e-4/scores_eval.tsv \
  data/voxguard-mini/ASVspoof2019_LA_cm_protocols/ASVspoof2019.LA.cm.eval.trl.txt --breakdown
