#!/usr/bin/env bash
# Effect of the pretrained front-ends (issue 8) on accuracy, speaker-independent, every fold:
# the same scikit-learn classifiers (SVM, MLP) on the same clip vectors (6 clip stats + MFCC mean/std) with and
# without CREPE pitch statistics, GE2E voice embeddings and Silero VAD trimming; GE2E alone as the small-head
# transfer baseline. Per-clip vectors are cached, so each network runs once per corpus.
# Rows land in benchmarks/results/frontends_effect/ as folds finish; then
#   python benchmarks/frontends_effect_summary.py   writes effect.md there.
# Usage: bash benchmarks/frontends_effect.sh [PROTOCOL...]   (default: ravdess-6fold crema_d-kfold)
set -euo pipefail
cd "$(dirname "$0")/.."
PROTOCOLS=${*:-ravdess-6fold crema_d-kfold}
BASE=stats+mfcc_mean
for protocol in $PROTOCOLS; do
  for clf in svm mlp; do
    .venv/bin/python -m ser_zoo.cli bench --protocol "$protocol" --out benchmarks/results/frontends_effect --models \
      "$clf" "$clf:$BASE+pitch" "$clf:$BASE+ge2e" "$clf:$BASE:vad" "$clf:ge2e" "$clf:$BASE+pitch+ge2e:vad"
  done
done
