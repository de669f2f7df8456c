#!/usr/bin/env bash
# Deep leaderboard rows that fit a 2-core CPU in about an hour: the seed models on their own seeds' corpora
# (fold 0 on the big protocols and the unions, every fold on SAVEE) and resnet18 fine-tuned from the CREMA-D zoo checkpoint on the
# small leave-one-speaker-out protocols (every fold). Short one-cycle schedules; the epochs are in every CSV row.
# Three lanes of one thread each. Resumable: finished folds are skipped.
# Usage: bash benchmarks/leaderboard_deep.sh
source "$(dirname "$0")/_lanes.sh"
lane_small_corpora() {
  bench --protocol savee-loso --max_epochs 20 --models configs/conv2d_mfcc_savee.yaml       # seed 003
  bench --protocol savee-loso --max_epochs 8 --models configs/resnet18_savee.yaml
  bench --protocol tess-loso --max_epochs 6 --models configs/resnet18_tess.yaml
}
lane_union() {  # seed 004's Mel-CNN and seed 001's FusionNet on their own unions
  bench --protocol union-11fold --classes emotions7 --folds 0 --max_epochs 2 --models configs/mel_cnn_union7.yaml
  bench --protocol union-11fold --folds 0 --max_epochs 4 --models configs/fusionnet_union6.yaml
}
lane_seed_models() {
  bench --protocol ravdess-6fold --folds 0 --max_epochs 20 --models configs/conv2d_mfcc_ravdess.yaml  # seed 003
  bench --protocol ravdess-6fold --folds 0 --max_epochs 10 --models configs/fusionnet_ravdess.yaml    # seed 001
  bench --protocol crema_d-kfold --folds 0 --max_epochs 5 --models configs/rezonet_crema_d.yaml      # seed 000
  bench --protocol crema_d-kfold --folds 0 --max_epochs 4 --models configs/dummynet_energy_crema_d.yaml
}
run_lanes small_corpora seed_models union
