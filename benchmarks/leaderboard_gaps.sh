#!/usr/bin/env bash
# The rows leaderboard_deep.sh left out, sized for under two hours of a 2-core CPU: resnet18 on the two protocols it
# lacked (the 7-class union, fine-tuned from resnet18_union6 on the same speaker fold 0; cross-corpus, fine-tuned from
# resnet18_crema_d, which never heard a SAVEE or TESS speaker), and the seed models still missing a full-data row on
# their own seed's corpus (VGG16 on RAVDESS, MFCC-CRNN on the 7-class union, DummyNet ZCR / ZCR+energy on CREMA-D),
# then seed 004's MFCC-CNN (one of the two best CNNs) on RAVDESS, TESS, SAVEE, CREMA-D and the 6-class union.
# Left to a GPU: seed 000's ExpoNet and DummyNet on the flattened mel. Both push a 12k-step sequence through 512-channel
# 1-D convolutions; here ExpoNet trained at 0.44 clip/s (one thread, machine shared), over three hours per CREMA-D
# epoch, and DummyNet-mel at 0.8 clip/s alone. Three lanes of one thread each; resumable (finished folds are skipped).
# Then the two best CNNs (MFCC-CNN, seed 004; Conv2D-MFCC, seed 003: best after resnet18 on RAVDESS fold 0) on the
# protocols they lacked, in two lanes sized for about 100 minutes each (conv_a, conv_b).
# Last, seed 000's two heavy 1-D nets, one epoch each of the seed's own recipe (Adam 1e-5) on CREMA-D fold 0, one lane
# each (exponet, dummynet_mel): an epoch of the fold's 4994 training clips takes 46 and 69 minutes on both cores of a
# quiet machine (1.8 and 1.2 clip/s: benchmarks/results/train_epoch_{exponet,dummynet_mel}.md, from
# benchmarks/train_epoch.py), longer as one of two lanes, so this is the most a 2-core session can give them.
# Run a heavy lane alone on every core with LANE_THREADS: `LANE_THREADS=2 bash benchmarks/leaderboard_gaps.sh
# dummynet_mel` (its committed row: 4268 s of training, 1.2 clip/s).
# Lane conv_ravdess gives Conv2D-MFCC the other five RAVDESS folds (about 20 minutes each on one thread), so its
# RAVDESS row becomes a 6-fold mean like MFCC-CNN's and resnet18's.
# Usage: bash benchmarks/leaderboard_gaps.sh [LANE...]
#   (LANE...: resnet18, seed_001_004, cnn, cnn_big, cnn_union, conv_a, conv_b, exponet, dummynet_mel, conv_ravdess;
#   default all)
source "$(dirname "$0")/_lanes.sh"
lane_resnet18() {
  bench --protocol union-11fold --classes emotions7 --folds 0 --max_epochs 2 --models configs/resnet18_union7.yaml
  bench --protocol cross-corpus --max_epochs 1 --models configs/resnet18_cross_corpus.yaml
}
lane_seed_001_004() {
  bench --protocol union-11fold --models knn random_forest                                           # seed 003's, on seed 001's union
  bench --protocol ravdess-6fold --folds 0 --max_epochs 2 --models configs/vgg16_ravdess.yaml         # seed 001
  bench --protocol union-11fold --classes emotions7 --folds 0 --max_epochs 2 --models configs/mfcc_crnn_union7.yaml  # seed 004
}
lane_cnn() {
  bench --protocol crema_d-kfold --folds 0 --max_epochs 3 --models configs/dummynet_zcr_energy_crema_d.yaml  # seed 000
  bench --protocol crema_d-kfold --folds 0 --max_epochs 2 --models configs/dummynet_zcr_crema_d.yaml          # seed 000
  bench --protocol ravdess-6fold --folds 0 --max_epochs 10 --models configs/mfcc_cnn_ravdess.yaml
  bench --protocol tess-loso --max_epochs 8 --models configs/mfcc_cnn_tess.yaml
  bench --protocol savee-loso --max_epochs 15 --models configs/mfcc_cnn_savee.yaml
}
lane_cnn_big() {  # MFCC-CNN on the two big protocols it lacked (ran after the others, two lanes)
  bench --protocol crema_d-kfold --folds 0 --max_epochs 4 --models configs/mfcc_cnn_crema_d.yaml
}
lane_cnn_union() {
  bench --protocol union-11fold --folds 0 --max_epochs 3 --models configs/mfcc_cnn_union6.yaml
}
lane_conv_a() {
  bench --protocol cross-corpus --max_epochs 4 --models configs/mfcc_cnn_cross_corpus.yaml
  bench --protocol crema_d-kfold --folds 0 --max_epochs 6 --models configs/conv2d_mfcc_crema_d.yaml
  bench --protocol tess-loso --max_epochs 15 --models configs/conv2d_mfcc_tess.yaml
}
lane_conv_b() {
  bench --protocol cross-corpus --max_epochs 5 --models configs/conv2d_mfcc_cross_corpus.yaml
  bench --protocol union-11fold --folds 0 --max_epochs 4 --models configs/conv2d_mfcc_union6.yaml
  bench --protocol union-11fold --classes emotions7 --folds 0 --max_epochs 3 --models configs/conv2d_mfcc_union7.yaml
}
lane_exponet() {
  bench --protocol crema_d-kfold --folds 0 --max_epochs 1 --models configs/exponet_crema_d.yaml       # seed 000
}
lane_dummynet_mel() {
  bench --protocol crema_d-kfold --folds 0 --max_epochs 1 --models configs/dummynet_mel_crema_d.yaml  # seed 000
}
lane_conv_ravdess() {
  bench --protocol ravdess-6fold --folds 1 2 3 4 5 --max_epochs 20 --models configs/conv2d_mfcc_ravdess.yaml
}
if [ $# -gt 0 ]; then run_lanes "$@"; else run_lanes resnet18 seed_001_004 cnn; run_lanes cnn_big cnn_union; run_lanes conv_a conv_b; run_lanes exponet dummynet_mel conv_ravdess; fi
