#!/usr/bin/env bash
# The speaker recipe end to end (CPU): precompute -> distil -> bundle -> calibrate/operating point
# -> evaluate -> finalize the bundle card. Usage: DATA=path/to/shared/data bash recipes/speaker/run.sh WORK_DIR
set -euo pipefail
W=${1:-runs/speaker}
R=recipes/speaker
B=src/voxguard/pretrained/bccmt_tiny_ge2e_kd
mkdir -p "$W/exp" "$W/eval"
# stage 1 (from scratch) on 8 crops per utterance (seed 0)
python $R/precompute.py "$DATA" "$W/cache" --crops 8 --fsdd-n 1000 --seed 0
python $R/train.py $R/conf/bccmt_tiny_ge2e_kd.yaml "$W/cache" "$W/exp/bccmt_tiny_ge2e_kd"
# stage 2 (from stage 1's selected checkpoint, conf/bccmt_tiny_ge2e_kd_s2.yaml names it) on a new
# cache of 12 crops per utterance (seed 1). What was really run: this same precompute command,
# but into runs/speaker/cache (that checkout no longer had stage 1's cache), and train.py on
# runs/speaker/cache. Here it goes to cache_s1 on purpose: precompute.py skips shards that already
# exist, so on a fresh run the seed-1 cache must not share stage 1's directory.
python $R/precompute.py "$DATA" "$W/cache_s1" --crops 12 --fsdd-n 1000 --seed 1
python $R/train.py $R/conf/bccmt_tiny_ge2e_kd_s2.yaml "$W/cache_s1" "$W/exp/bccmt_tiny_ge2e_kd_s2"
python $R/fold.py "$DATA" "$W/exp/bccmt_tiny_ge2e_kd_s2" "$W/exp/bccmt_tiny_ge2e_kd_s2/folded"
python $R/bundle.py "$W/exp/bccmt_tiny_ge2e_kd_s2" $B
# stage 3 (conf/bccmt_tiny_ge2e_kd_s3.yaml): from the bundle just written (stage 2's step 800),
# the low-LR end of the schedule, on the same seed-1 cache (really run on runs/speaker/cache_s1)
python $R/train.py $R/conf/bccmt_tiny_ge2e_kd_s3.yaml "$W/cache_s1" "$W/exp/bccmt_tiny_ge2e_kd_s3"
python $R/plot_curves.py $R/results/learning_curves.png "$W/exp/bccmt_tiny_ge2e_kd" "$W/exp/bccmt_tiny_ge2e_kd_s2" "$W/exp/bccmt_tiny_ge2e_kd_s3"
# BC-CMT Base distilled the same way (from scratch, Tiny stage 1's schedule; ~100 min of one core;
# not bundled: README "BC-CMT Base"). Optional, so left commented out:
# python $R/train.py $R/conf/bccmt_base_ge2e_kd.yaml "$W/cache_s1" "$W/exp/bccmt_base_ge2e_kd"
# python $R/evaluate.py "$DATA" $R/results/eval_test_other_base.json "$W/exp/bccmt_base_ge2e_kd/best"
# python $R/fold.py "$DATA" "$W/exp/bccmt_base_ge2e_kd" "$W/exp/bccmt_base_ge2e_kd/folded"
# stage 3 did not beat stage 2 on dev_full (README "Stage 3"), so it was not bundled: the bundle
# keeps stage 2's weights. Had it won, fold.py + bundle.py would run here on bccmt_tiny_ge2e_kd_s3
# (once: bundle.py reads the stage-3 init's card from the bundle before rewriting it).
python $R/operating_point.py "$DATA" $B $R/results/operating_point.json
python $R/evaluate.py "$DATA" $R/results/eval_test_other.json $B
python $R/evaluate.py "$DATA" $R/results/eval_conditions_teacher.json ge2e
python $R/timing.py "$DATA" $B $R/results/timing.json
python $R/families.py $R/results/families.json
python $R/bundle.py "$W/exp/bccmt_tiny_ge2e_kd_s2" $B --finalize $R/results/eval_test_other.json $R/results/operating_point.json $R/results/eval_conditions_teacher.json
