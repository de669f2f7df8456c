#!/usr/bin/env bash
# The training runs behind the zoo checkpoints of issue 5, one fold each on this CPU (short one-cycle schedules,
# stated in every CSV row), rows into benchmarks/results/<protocol>.csv; publish each with benchmarks/publish_zoo.py.
#   resnet18 on CREMA-D (fine-tuned from resnet18_ravdess), the best seed CNN on the 7-class union, resnet18 on
#   the 6-class union (from scratch).
# Usage: bash benchmarks/zoo_runs.sh [FOLD]   (fold 0 by default; resumable: finished folds are skipped)
set -euo pipefail
cd "$(dirname "$0")/.."
FOLD=${1:-0}
OUT=${OUT:-benchmarks/results}
PY=".venv/bin/python -m ser_zoo.cli"
$PY bench --protocol crema_d-kfold --folds "$FOLD" --max_epochs 4 --out "$OUT" --models configs/resnet18_crema_d.yaml
$PY bench --protocol union-11fold --classes emotions7 --folds "$FOLD" --max_epochs 8 --out "$OUT" \
  --models configs/mfcc_cnn_union7.yaml
$PY bench --protocol union-11fold --folds "$FOLD" --max_epochs 3 --out "$OUT" --models configs/resnet18_union6.yaml
