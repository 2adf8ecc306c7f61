#!/usr/bin/env bash
# The speaker recipe end to end (CPU): precompute -> distil -> bundle -> calibrate/operating point
# -> evaluate -> finalize the bundle card. Usage: DATA=path/to/shared/data bash recipes/speaker/run.sh WORK_DIR
set -euo pipefail
W=${1:-runs/speaker}
R=recipes/speaker
B=src/voxguard/pretrained/bccmt_tiny_ge2e_kd
mkdir -p "$W/exp" "$W/eval"
# stage 1 (from scratch) on 8 crops per utterance, stage 2 (from stage 1's selected checkpoint,
# conf/bccmt_tiny_ge2e_kd_s2.yaml names it) on a new cache of 12 crops per utterance
python $R/precompute.py "$DATA" "$W/cache" --crops 8 --fsdd-n 1000 --seed 0
python $R/train.py $R/conf/bccmt_tiny_ge2e_kd.yaml "$W/cache" "$W/exp/bccmt_tiny_ge2e_kd"
python $R/precompute.py "$DATA" "$W/cache_s1" --crops 12 --fsdd-n 1000 --seed 1
python $R/train.py $R/conf/bccmt_tiny_ge2e_kd_s2.yaml "$W/cache_s1" "$W/exp/bccmt_tiny_ge2e_kd_s2"
python $R/plot_curves.py $R/results/learning_curves.png "$W/exp/bccmt_tiny_ge2e_kd" "$W/exp/bccmt_tiny_ge2e_kd_s2"
python $R/fold.py "$DATA" "$W/exp/bccmt_tiny_ge2e_kd_s2" "$W/exp/bccmt_tiny_ge2e_kd_s2/folded"
python $R/bundle.py "$W/exp/bccmt_tiny_ge2e_kd_s2" $B
python $R/operating_point.py "$DATA" $B $R/results/operating_point.json
python $R/evaluate.py "$DATA" $R/results/eval_test_other.json $B
python $R/evaluate.py "$DATA" $R/results/eval_conditions_teacher.json ge2e
python $R/timing.py "$DATA" $B $R/results/timing.json
python $R/families.py $R/results/families.json
python $R/bundle.py "$W/exp/bccmt_tiny_ge2e_kd_s2" $B --finalize $R/results/eval_test_other.json $R/results/operating_point.json $R/results/eval_conditions_teacher.json
