"""What the source projects reported, per protocol and class set, shown beside our numbers on the leaderboard.

The last field says how they measured: their own actor folds are comparable in kind with ours; a random clip
split leaks speakers and is marked ``random-split`` (not comparable, shown only for context).
"""

CNN_STUDY = "CREMA-D CNN study (ExpoNet, RezoNet, DummyNet)"
FUSIONNET = "SER-FusionNet (Boopathi et al., SJSU 2023)"
RESNET18_TRANSFER = "ResNet18 transfer project (anuranjanpandey/Speech-Emotion-Recognition)"
CONV2D_MFCC = "Conv2D-MFCC Keras project"
MEL_MFCC_ARTICLE = "Mel/MFCC CNN and CRNN article"

REPORTED = [
    # (our protocol, class set, reported by, system, metric, value %, how they measured)
    ("ravdess-6fold", "emotions8", FUSIONNET, "SER-FusionNet", "accuracy", "46 ± 1", "6 actor folds"),
    ("ravdess-6fold", "emotions8", FUSIONNET, "VGG16 transfer", "accuracy", "54", "split unstated"),
    ("ravdess-6fold", "emotions8", RESNET18_TRANSFER, "ResNet18 transfer", "accuracy", "76", "random-split"),
    (
        "ravdess-6fold",
        "emotions8",
        CONV2D_MFCC,
        "Random forest",
        "accuracy",
        "38.89",
        "random-split (RAVDESS+SAVEE)",
    ),
    (
        "ravdess-6fold",
        "emotions8",
        CONV2D_MFCC,
        "KNN (k=9)",
        "accuracy",
        "35.93",
        "random-split (RAVDESS+SAVEE)",
    ),
    ("union-11fold", "emotions6", FUSIONNET, "SER-FusionNet", "accuracy", "38 ± 2", "11 speaker folds"),
    (
        "union-11fold",
        "emotions7",
        MEL_MFCC_ARTICLE,
        "MFCC-CNN",
        "accuracy",
        "74 (macro-F1 76)",
        "random-split",
    ),
    (
        "union-11fold",
        "emotions7",
        MEL_MFCC_ARTICLE,
        "MFCC-CRNN",
        "accuracy",
        "74 (macro-F1 75)",
        "random-split",
    ),
    (
        "union-11fold",
        "emotions7",
        MEL_MFCC_ARTICLE,
        "Mel-CNN",
        "accuracy",
        "71 (macro-F1 73)",
        "random-split",
    ),
    (
        "cross-corpus",
        "emotions6",
        FUSIONNET,
        "SER-FusionNet",
        "accuracy",
        "26.05",
        "train CREMA-D+RAVDESS, test SAVEE+TESS",
    ),
    (
        "savee-loso",
        "emotions7",
        CONV2D_MFCC,
        "Conv2D-MFCC",
        "accuracy",
        "86.43",
        "random-split (RAVDESS+SAVEE)",
    ),
    (
        "crema_d-kfold",
        "emotions6",
        CNN_STUDY,
        "ExpoNet / RezoNet / DummyNet",
        "accuracy",
        "reported only as plots",
        "random 70/30 split",
    ),
]


def reported_numbers(protocol: str, classes: str) -> list[tuple]:
    return [r for r in REPORTED if r[0] == protocol and r[1] == classes]


#: Issue 5's speaker-independent UA targets (%), per protocol and class set.
TARGETS = {
    ("ravdess-6fold", "emotions8"): 70.0,
    ("crema_d-kfold", "emotions6"): 65.0,
    ("union-11fold", "emotions6"): 62.0,
    ("cross-corpus", "emotions6"): 45.0,
    ("loco", "emotions6"): 50.0,  # issue 21: speech from a corpus never heard
}
