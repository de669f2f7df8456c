"""What the seeds reported, per protocol and class set, so the leaderboard shows them beside our numbers.

``protocol`` says how the seed measured: its own actor folds are comparable in kind with ours; a random clip
split leaks speakers and is marked ``random-split`` (not comparable, shown only for context).
"""

SEED_NUMBERS = [
    # (our protocol, class set, seed, system, metric, value %, how the seed measured)
    ("ravdess-6fold", "emotions8", "001", "SER-FusionNet", "accuracy", "46 ± 1", "6 actor folds"),
    ("ravdess-6fold", "emotions8", "001", "VGG16 transfer", "accuracy", "54", "split unstated"),
    ("ravdess-6fold", "emotions8", "002", "ResNet18 transfer", "accuracy", "76", "random-split"),
    (
        "ravdess-6fold",
        "emotions8",
        "003",
        "Random forest",
        "accuracy",
        "38.89",
        "random-split (RAVDESS+SAVEE)",
    ),
    ("ravdess-6fold", "emotions8", "003", "KNN (k=9)", "accuracy", "35.93", "random-split (RAVDESS+SAVEE)"),
    ("union-11fold", "emotions6", "001", "SER-FusionNet", "accuracy", "38 ± 2", "11 speaker folds"),
    ("union-11fold", "emotions7", "004", "MFCC-CNN", "accuracy", "74 (macro-F1 76)", "random-split"),
    ("union-11fold", "emotions7", "004", "MFCC-CRNN", "accuracy", "74 (macro-F1 75)", "random-split"),
    ("union-11fold", "emotions7", "004", "Mel-CNN", "accuracy", "71 (macro-F1 73)", "random-split"),
    (
        "cross-corpus",
        "emotions6",
        "001",
        "SER-FusionNet",
        "accuracy",
        "26.05",
        "train CREMA-D+RAVDESS, test SAVEE+TESS",
    ),
    ("savee-loso", "emotions7", "003", "Conv2D-MFCC", "accuracy", "86.43", "random-split (RAVDESS+SAVEE)"),
    (
        "crema_d-kfold",
        "emotions6",
        "000",
        "ExpoNet / RezoNet / DummyNet",
        "accuracy",
        "reported only as plots",
        "random 70/30 split",
    ),
]


def seed_numbers(protocol: str, classes: str) -> list[tuple]:
    return [r for r in SEED_NUMBERS if r[0] == protocol and r[1] == classes]


#: Issue 5's speaker-independent UA targets (%), per protocol and class set.
TARGETS = {
    ("ravdess-6fold", "emotions8"): 70.0,
    ("crema_d-kfold", "emotions6"): 65.0,
    ("union-11fold", "emotions6"): 62.0,
    ("cross-corpus", "emotions6"): 45.0,
}
