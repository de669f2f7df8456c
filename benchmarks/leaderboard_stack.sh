#!/usr/bin/env bash
# RAVDESS 8-class, every fold: a logistic-regression stack (fitted on each fold's validation actors) of MFCC-CNN
# (seed 004's best CNN, trained by bench on that fold) and the SVM and MLP on stats+MFCC+pitch+GE2E (fitted on the
# fold's training actors), and their plain average. The fold rows go to ravdess-6fold.csv as
# `mfcc_cnn+svm+mlp-stack` and `-average`, so the leaderboard
# shows their 6-fold means beside resnet18's. One thread; resumable bench, then ~1-2 min per fold.
# Usage: bash benchmarks/leaderboard_stack.sh
source "$(dirname "$0")/_lanes.sh"
bench --protocol ravdess-6fold --max_epochs 10 --models configs/mfcc_cnn_ravdess.yaml
FEATS=stats+mfcc_mean+pitch+ge2e:vad
for fold in 0 1 2 3 4 5; do
  .venv/bin/python benchmarks/ensemble_fold.py --protocol ravdess-6fold --fold "$fold" \
    --members "runs/bench/ravdess-6fold/mfcc_cnn_ravdess-fold$fold/version_*/checkpoints/best-*.ckpt" \
    --baselines "svm:$FEATS" "mlp:$FEATS" --leaderboard mfcc_cnn+svm+mlp \
    --results "$OUT" --out "$OUT/ensemble.md"
done
