#!/usr/bin/env bash
# One measured fold per seed model (issue 3): each seed recipe on fold 0 of its own seed's speaker-independent
# protocol, under the same short CPU budget (BUDGET, default 4 minutes of training per model, then the test of the
# best-on-validation checkpoint), plus the scikit-learn baselines on the same folds. Not leaderboard numbers:
# the leaderboard runs full schedules on every fold. On CREMA-D and the union each stage is cut to SUBSET clips
# (still only that stage's speakers). Rows land in benchmarks/results/seed_zoo/ as they finish; reruns resume.
set -euo pipefail
cd "$(dirname "$0")/.."
BUDGET=${BUDGET:-00:00:03:00}
SUBSET=${SUBSET:-600}  # clips per stage on the big corpora: a deterministic subset of each stage's speakers' clips
OUT=benchmarks/results/seed_zoo
bench() { .venv/bin/ser-zoo bench --folds 0 --out "$OUT" "$@"; }
bench --protocol ravdess-6fold --models knn random_forest svm mlp logreg
bench --protocol savee-loso --models configs/conv2d_mfcc_savee.yaml knn random_forest --trainer.max_time "$BUDGET"
bench --protocol crema_d-kfold --models configs/rezonet_crema_d.yaml configs/exponet_crema_d.yaml \
  configs/dummynet_zcr_crema_d.yaml configs/dummynet_energy_crema_d.yaml configs/dummynet_zcr_energy_crema_d.yaml \
  configs/dummynet_mel_crema_d.yaml --trainer.max_time "$BUDGET" --data.limit_clips "$SUBSET"
bench --protocol union-11fold --classes emotions7 --models configs/mel_cnn_union7.yaml configs/mfcc_cnn_union7.yaml \
  configs/mfcc_crnn_union7.yaml --trainer.max_time "$BUDGET" --data.limit_clips "$SUBSET"
bench --protocol union-11fold --models configs/fusionnet_union6.yaml --trainer.max_time "$BUDGET" \
  --data.limit_clips "$SUBSET"
bench --protocol ravdess-6fold --models configs/fusionnet_ravdess.yaml configs/conv2d_mfcc_ravdess.yaml \
  configs/resnet18_ravdess.yaml configs/vgg16_ravdess.yaml --trainer.max_time "$BUDGET"
