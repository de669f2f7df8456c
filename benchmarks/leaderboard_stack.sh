#!/usr/bin/env bash
# Ensembles as leaderboard rows: every member trained (bench) or fitted on the fold's training speakers, the
# logistic-regression stack and the ensemble-selection weights fitted on its validation speakers; the plain average,
# the stack and the selection are written (`<members>-average`, `-stack`, `-select`) to the protocol's CSV by
# benchmarks/ensemble_fold.py --leaderboard.
# Each deep member reads the fold as it was benched (resnet18 2.5 s crops, MFCC-CNN 3 s, Conv2D-MFCC 2.5 s).
# Lanes (one thread each, side by side; resumable bench first, then ~1-2 min per fold for the ensemble):
#   ravdess:      every RAVDESS fold, MFCC-CNN (seed 004's best CNN) + SVM + MLP on stats+MFCC+pitch+GE2E
#   ravdess_conv: every RAVDESS fold, the same plus Conv2D-MFCC (seed 003), the two best CNNs with the two baselines
#   ravdess_pool: every RAVDESS fold, the two CNNs with five baselines (SVM, MLP, logistic regression, k-NN, random
#                 forest on the same features): a pool for ensemble selection to weigh on validation actors
#   cross_corpus: the one cross-corpus fold, zoo resnet18_cross_corpus + MFCC-CNN + the same SVM and MLP
#   union6:       6-class union fold 0 only (the fold zoo resnet18_union6 was trained for), it + MFCC-CNN +
#                 Conv2D-MFCC + the same SVM and MLP
#   crema_d:      CREMA-D fold 0 only (zoo resnet18_crema_d's fold), the same five kinds of member
#   savee, tess:  every fold, resnet18 (fine-tuned from zoo resnet18_crema_d) + MFCC-CNN + Conv2D-MFCC + SVM + MLP
# Usage: bash benchmarks/leaderboard_stack.sh [LANE...]   (default: all)
source "$(dirname "$0")/_lanes.sh"
FEATS=stats+mfcc_mean+pitch+ge2e:vad
BASELINES=("svm:$FEATS" "mlp:$FEATS")  # a lane may widen it with its own `local BASELINES=(...)`
ensemble() { .venv/bin/python benchmarks/ensemble_fold.py --baselines "${BASELINES[@]}" \
  --results "$OUT" --out "$OUT/ensemble.md" "$@"; }
every_fold_ensemble() {  # protocol, folds, leaderboard label, then the recipes whose bench checkpoints are members
  local protocol=$1 folds=$2 label=$3 fold recipe members
  shift 3
  for fold in $folds; do
    members=()  # globs stay quoted: ensemble_fold.py takes each one's newest match
    for recipe in "$@"; do members+=("runs/bench/$protocol/$recipe-fold$fold/version_*/checkpoints/best-*.ckpt"); done
    ensemble --protocol "$protocol" --fold "$fold" --leaderboard "$label" --members "${members[@]}"
  done
}
lane_ravdess() {
  bench --protocol ravdess-6fold --max_epochs 10 --models configs/mfcc_cnn_ravdess.yaml
  every_fold_ensemble ravdess-6fold "0 1 2 3 4 5" mfcc_cnn+svm+mlp mfcc_cnn_ravdess
}
ravdess_cnns() {  # the two CNN members of the RAVDESS ensembles on every fold (finished folds are skipped)
  bench --protocol ravdess-6fold --max_epochs 10 --models configs/mfcc_cnn_ravdess.yaml
  bench --protocol ravdess-6fold --max_epochs 20 --models configs/conv2d_mfcc_ravdess.yaml
}
lane_ravdess_conv() {
  ravdess_cnns
  every_fold_ensemble ravdess-6fold "0 1 2 3 4 5" mfcc_cnn+conv2d_mfcc+svm+mlp mfcc_cnn_ravdess conv2d_mfcc_ravdess
}
lane_ravdess_pool() {
  local BASELINES=("svm:$FEATS" "mlp:$FEATS" "logreg:$FEATS" "knn:$FEATS" "random_forest:$FEATS")
  ravdess_cnns
  every_fold_ensemble ravdess-6fold "0 1 2 3 4 5" mfcc_cnn+conv2d_mfcc+5_baselines mfcc_cnn_ravdess conv2d_mfcc_ravdess
}
lane_cross_corpus() {
  bench --protocol cross-corpus --max_epochs 4 --models configs/mfcc_cnn_cross_corpus.yaml
  ensemble --protocol cross-corpus --fold 0 --leaderboard resnet18+mfcc_cnn+svm+mlp --members resnet18_cross_corpus \
    "runs/bench/cross-corpus/mfcc_cnn_cross_corpus-fold0/version_*/checkpoints/best-*.ckpt"
}
zoo_fold0_lane() {  # protocol, recipe suffix, max_epochs of MFCC-CNN and Conv2D-MFCC; zoo resnet18_<suffix> is
  # for fold 0
  local protocol=$1 suffix=$2
  bench --protocol "$protocol" --folds 0 --max_epochs "$3" --models "configs/mfcc_cnn_$suffix.yaml"
  bench --protocol "$protocol" --folds 0 --max_epochs "$4" --models "configs/conv2d_mfcc_$suffix.yaml"
  ensemble --protocol "$protocol" --fold 0 --leaderboard resnet18+mfcc_cnn+conv2d_mfcc+svm+mlp \
    --members "resnet18_$suffix" "runs/bench/$protocol/mfcc_cnn_$suffix-fold0/version_*/checkpoints/best-*.ckpt" \
    "runs/bench/$protocol/conv2d_mfcc_$suffix-fold0/version_*/checkpoints/best-*.ckpt"
}
lane_union6() { zoo_fold0_lane union-11fold union6 3 4; }
lane_crema_d() { zoo_fold0_lane crema_d-kfold crema_d 4 6; }
loso_lane() {  # protocol, corpus, folds, then the max_epochs of resnet18, MFCC-CNN and Conv2D-MFCC
  local protocol=$1 corpus=$2 folds=$3
  bench --protocol "$protocol" --max_epochs "$4" --models "configs/resnet18_$corpus.yaml"
  bench --protocol "$protocol" --max_epochs "$5" --models "configs/mfcc_cnn_$corpus.yaml"
  bench --protocol "$protocol" --max_epochs "$6" --models "configs/conv2d_mfcc_$corpus.yaml"
  every_fold_ensemble "$protocol" "$folds" resnet18+mfcc_cnn+conv2d_mfcc+svm+mlp \
    "resnet18_$corpus" "mfcc_cnn_$corpus" "conv2d_mfcc_$corpus"
}
lane_savee() { loso_lane savee-loso savee "0 1 2 3" 8 15 20; }
lane_tess() { loso_lane tess-loso tess "0 1" 6 8 15; }
if [ $# -gt 0 ]; then run_lanes "$@"; else run_lanes ravdess cross_corpus union6 crema_d; run_lanes savee tess; run_lanes ravdess_conv; run_lanes ravdess_pool; fi
