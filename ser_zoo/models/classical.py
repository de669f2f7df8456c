"""Classical baselines (seeds 001 and 003): scikit-learn classifiers on clip-level feature vectors.

Features come from ser-zoo's own front-ends over the same waveform cache, protocol folds and class set as the
Lightning models, computed on whole clips (padding masked). Each baseline is ``StandardScaler`` + a classifier
with a fixed seed, fitted on the fold's training speakers only; validation speakers are not used (the settings
are fixed, nothing is tuned) and the test speakers are only predicted. Metrics use the same definitions as the
LightningModule (WA micro accuracy, UA macro recall, macro-F1).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from ..errors import ConfigError

BASELINES: dict[str, Callable[[], ClassifierMixin]] = {
    "random_forest": lambda: RandomForestClassifier(n_estimators=300, random_state=0, n_jobs=-1),
    "knn": lambda: KNeighborsClassifier(n_neighbors=9),  # seed 003's k
    "svm": lambda: SVC(C=10.0, gamma="scale", random_state=0),
    "mlp": lambda: MLPClassifier(hidden_layer_sizes=(256, 128), max_iter=400, early_stopping=True, random_state=0),
    "logreg": lambda: LogisticRegression(max_iter=3000, C=1.0),
}
FEATURES = ("stats", "mfcc_mean", "clip_means")
DEFAULT_FEATURES = "stats+mfcc_mean"


def list_baselines() -> list[str]:
    return sorted(BASELINES)


def make_baseline(name: str) -> Pipeline:
    if name not in BASELINES:
        raise ConfigError(f"unknown baseline '{name}'; use one of {list_baselines()}")
    return make_pipeline(StandardScaler(), BASELINES[name]())


class VectorFeatures(torch.nn.Module):
    """Clip vectors from front-ends: ``stats`` (6 clip statistics), ``mfcc_mean`` (mean and std of 40 MFCCs over
    the real frames), ``clip_means`` (seed 001's 162 means); join several with '+'."""

    def __init__(self, spec: str = DEFAULT_FEATURES, sample_rate: int = 16000):
        super().__init__()
        from ..features import create_frontend

        self.names = spec.split("+")
        bad = [n for n in self.names if n not in FEATURES]
        if bad or not self.names:
            raise ConfigError(f"unknown baseline feature(s) {bad}; join any of {list(FEATURES)} with '+'")
        self.stats = create_frontend({"name": "clip_stats", "sample_rate": sample_rate})
        self.mfcc = create_frontend({"name": "mfcc", "n_mfcc": 40, "normalize": None, "sample_rate": sample_rate})
        self.means = create_frontend({"name": "clip_means", "sample_rate": sample_rate})

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        from ..features.pooled import masked_time_mean

        out = []
        for name in self.names:
            if name == "stats":
                out.append(self.stats(wave, lengths))
            elif name == "clip_means":
                out.append(self.means(wave, lengths))
            else:
                m = self.mfcc(wave, lengths)[:, 0]  # (B, 40, frames)
                mean = masked_time_mean(m, lengths, self.mfcc.hop_length)
                var = masked_time_mean((m - mean[..., None]) ** 2, lengths, self.mfcc.hop_length)
                out += [mean, var.sqrt()]
        return torch.cat(out, 1)


def extract_features(dm, stage: str, features: str = DEFAULT_FEATURES, batch_size: int = 32):
    """(X, y, clips) for one stage of a set-up SERDataModule, from whole clips (padding masked)."""
    from torch.utils.data import DataLoader

    from ..data.datamodule import ClipDataset, pad_collate

    ds = dm.datasets[stage]
    whole = ClipDataset(ds.clips, ds.labels, ds.cache, crop="full", num_samples=ds.num_samples)
    fx = VectorFeatures(features, dm.hparams.sample_rate).eval()
    xs = []
    with torch.inference_mode():
        for batch in DataLoader(whole, batch_size=batch_size, collate_fn=pad_collate):
            xs.append(fx(batch["audio"], batch["lengths"]).numpy())
    return np.concatenate(xs), np.asarray(ds.labels), ds.clips


def classification_metrics(pred: np.ndarray, target: np.ndarray, class_names: list[str]) -> dict[str, Any]:
    """WA / UA / macro-F1 / per-class recall / confusion matrix, with the LightningModule's definitions."""
    from torchmetrics.functional.classification import (multiclass_accuracy, multiclass_confusion_matrix,
                                                        multiclass_f1_score, multiclass_recall)

    p, t, k = torch.as_tensor(pred), torch.as_tensor(target), len(class_names)
    recall = multiclass_recall(p, t, k, average=None)
    return {
        "wa": float(multiclass_accuracy(p, t, k, average="micro")),
        "ua": float(multiclass_recall(p, t, k, average="macro")),
        "f1": float(multiclass_f1_score(p, t, k, average="macro")),
        "recall": dict(zip(class_names, map(float, recall))),
        "confusion": multiclass_confusion_matrix(p, t, k).tolist(),
    }


def _fitted_size(pipe: Pipeline) -> int:
    """A parameter count for the table: coefficients, support vectors, tree nodes or stored neighbours."""
    clf = pipe[-1]
    if hasattr(clf, "coefs_"):
        return int(sum(w.size for w in clf.coefs_) + sum(b.size for b in clf.intercepts_))
    if hasattr(clf, "support_vectors_"):
        return int(clf.support_vectors_.size + clf.dual_coef_.size)
    if hasattr(clf, "estimators_"):
        return int(sum(t.tree_.node_count for t in clf.estimators_))
    if hasattr(clf, "coef_"):
        return int(clf.coef_.size + clf.intercept_.size)
    return int(getattr(clf, "n_samples_fit_", 0) * getattr(clf, "n_features_in_", 0))


@functools.lru_cache(maxsize=8)
def _fold_features(protocol: str, fold: int, root: Optional[str], classes: Optional[str], features: str,
                   limit_clips: Optional[int]):
    from ..data.datamodule import SERDataModule

    dm = SERDataModule(root=root, protocol=protocol, fold=fold, classes=classes, limit_clips=limit_clips,
                       num_workers=0)
    dm.prepare_data()
    dm.setup("fit")
    return dm.class_names, extract_features(dm, "train", features), extract_features(dm, "test", features)


def run_baseline(name: str, protocol: str, fold: int, root: Optional[str] = None, classes: Optional[str] = None,
                 features: str = DEFAULT_FEATURES, limit_clips: Optional[int] = None) -> dict[str, Any]:
    """Fit baseline ``name`` on the fold's training speakers, test on its test speakers."""
    pipe = make_baseline(name)
    VectorFeatures(features)  # a bad feature name fails before any audio is read
    class_names, (x_tr, y_tr, _), (x_te, y_te, test_clips) = _fold_features(protocol, fold, root, classes, features,
                                                                            limit_clips)
    pipe.fit(x_tr, y_tr)
    result = classification_metrics(pipe.predict(x_te), y_te, class_names)
    return {**result, "params": _fitted_size(pipe), "n_test": len(y_te), "n_train": len(y_tr),
            "test_speakers": " ".join(sorted({c.speaker for c in test_clips})), "features": features}
