#!/usr/bin/env bash
# The rows leaderboard_deep.sh left out, sized for about two hours of a 2-core CPU: resnet18 on the two protocols it
# lacked (the 7-class union, fine-tuned from resnet18_union6 on the same speaker fold 0; cross-corpus, fine-tuned from
# resnet18_crema_d, which never heard a SAVEE or TESS speaker), and the seed models still missing a full-data row on
# their own seed's corpus (VGG16 on RAVDESS, MFCC-CRNN on the 7-class union, ExpoNet and DummyNet ZCR / ZCR+energy on
# CREMA-D). Seed 000's ExpoNet runs one epoch: on this CPU it trains at about 1 clip/s (flattened 12k-step mel through
# 512-channel 1-D convolutions), an hour per CREMA-D epoch. DummyNet on the flattened mel is slower still (0.8 clip/s)
# and is left to a GPU. Three lanes of one thread each; resumable (finished folds are skipped).
# Usage: bash benchmarks/leaderboard_gaps.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=".venv/bin/python -m ser_zoo.cli"
OUT=${OUT:-benchmarks/results}
export OMP_NUM_THREADS=1
bench() { $PY bench --out "$OUT" "$@"; }
lane_resnet18() {
  bench --protocol union-11fold --classes emotions7 --folds 0 --max_epochs 2 --models configs/resnet18_union7.yaml
  bench --protocol cross-corpus --max_epochs 2 --models configs/resnet18_cross_corpus.yaml
}
lane_seed_001_004() {
  bench --protocol union-11fold --models knn random_forest                                           # seed 003's, on seed 001's union
  bench --protocol ravdess-6fold --folds 0 --max_epochs 2 --models configs/vgg16_ravdess.yaml         # seed 001
  bench --protocol union-11fold --classes emotions7 --folds 0 --max_epochs 3 --models configs/mfcc_crnn_union7.yaml  # seed 004
  bench --protocol crema_d-kfold --folds 0 --max_epochs 3 --models configs/dummynet_zcr_crema_d.yaml  # seed 000
}
lane_seed_000() {
  bench --protocol crema_d-kfold --folds 0 --max_epochs 1 --models configs/exponet_crema_d.yaml
  bench --protocol crema_d-kfold --folds 0 --max_epochs 3 --models configs/dummynet_zcr_energy_crema_d.yaml
}
lane_resnet18 > "${LOG_DIR:-/tmp}/leaderboard_gaps_resnet18.log" 2>&1 &
a=$!
lane_seed_001_004 > "${LOG_DIR:-/tmp}/leaderboard_gaps_seed_001_004.log" 2>&1 &
b=$!
lane_seed_000 > "${LOG_DIR:-/tmp}/leaderboard_gaps_seed_000.log" 2>&1
wait $a; wait $b
