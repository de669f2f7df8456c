#!/usr/bin/env bash
# Every scikit-learn baseline on every speaker-independent protocol, every fold, into benchmarks/results/ (the
# leaderboard): seeds 001/003's classifiers on clip statistics + MFCC mean/std, and SVM / MLP on those plus the
# pretrained front-ends (CREPE pitch statistics, GE2E embedding, VAD-trimmed clips; the "all three" variant of
# benchmarks/frontends_effect.sh, fixed in advance, not picked by test scores). k-NN and random forest (seed 003)
# run on the seeds' own corpora (RAVDESS, SAVEE, the union); the core set also on seed 004's 7-class union. Resumable; per-clip vectors cached.
# Usage: bash benchmarks/leaderboard_baselines.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=".venv/bin/python -m ser_zoo.cli"
OUT=${OUT:-benchmarks/results}
ALL=stats+mfcc_mean+pitch+ge2e:vad
CORE="logreg svm mlp svm:$ALL mlp:$ALL"
for protocol in ravdess-6fold savee-loso tess-loso crema_d-kfold cross-corpus union-11fold; do
  case $protocol in
    ravdess-6fold|savee-loso|union-11fold) MODELS="$CORE knn random_forest" ;;
    *) MODELS="$CORE" ;;
  esac
  $PY bench --protocol "$protocol" --out "$OUT" --models $MODELS
done
# seed 004's 7-class union (its own class set; rows in union-11fold-emotions7.csv)
$PY bench --protocol union-11fold --classes emotions7 --out "$OUT" --models $CORE
