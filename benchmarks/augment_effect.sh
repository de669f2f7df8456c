#!/usr/bin/env bash
# Effect of the augmentation recipe on accuracy: resnet18 with and without `model.augment`, same schedule,
# ravdess-6fold folds 0-2, paired fold by fold. Rows land in benchmarks/results/augment_effect/ as folds finish.
# Usage: bash benchmarks/augment_effect.sh [EPOCHS]   (8 by default: a short CPU schedule, stated in every row)
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-8}
for fold in 0 1 2; do
  .venv/bin/ser-zoo bench --protocol ravdess-6fold --folds "$fold" --max_epochs "$EPOCHS" \
    --out benchmarks/results/augment_effect \
    --models configs/resnet18_ravdess.yaml configs/resnet18_ravdess_aug.yaml
done
