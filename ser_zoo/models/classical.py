"""Classical baselines: scikit-learn classifiers on clip-level feature vectors.

The Conv2D-MFCC Keras project compared a random forest and a 9-neighbour KNN with its CNN; SER-FusionNet's
report calls for traditional machine-learning baselines without naming them (ser-zoo adds an SVM, an MLP and a
logistic regression). ``BASELINE_ORIGINS`` says which is which.

Features come from ser-zoo's own front-ends over the same waveform cache, protocol folds and class set as the
Lightning models, computed on whole clips (padding masked). Each baseline is ``StandardScaler`` + a classifier
with a fixed seed, fitted on the fold's training speakers only; validation speakers are not used (the settings
are fixed, nothing is tuned) and the test speakers are only predicted. Metrics use the same definitions as the
LightningModule (WA micro accuracy, UA macro recall, macro-F1).
"""

from __future__ import annotations

import functools
import json
from typing import Any, Callable, NamedTuple, Optional, Sequence

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

from ..data.clips import ClipDataset, clip_key, pad_collate
from ..errors import ConfigError

BASELINES: dict[str, Callable[[], ClassifierMixin]] = {
    "random_forest": lambda: RandomForestClassifier(n_estimators=300, random_state=0, n_jobs=-1),
    "knn": lambda: KNeighborsClassifier(n_neighbors=9),  # the Conv2D-MFCC Keras project's k
    "svm": lambda: SVC(C=10.0, gamma="scale", random_state=0),
    "mlp": lambda: MLPClassifier(
        hidden_layer_sizes=(256, 128), max_iter=400, early_stopping=True, random_state=0
    ),
    "logreg": lambda: LogisticRegression(max_iter=3000, C=1.0),
}
BASELINE_ORIGINS = {
    "random_forest": "the Conv2D-MFCC Keras project's random forest",
    "knn": "the Conv2D-MFCC Keras project's KNN (k = 9)",
    "svm": "ser-zoo, for SER-FusionNet's traditional-ML comparison",
    "mlp": "ser-zoo, for SER-FusionNet's traditional-ML comparison",
    "logreg": "ser-zoo, for SER-FusionNet's traditional-ML comparison",
}
FEATURES = ("stats", "mfcc_mean", "clip_means", "pitch", "ge2e")
DEFAULT_FEATURES = "stats+mfcc_mean"
PITCH_HOP = 640  # 40 ms CREPE frames: clip statistics of F0 need no finer grid, and CREPE costs ~1/hop


class BaselineSpec(NamedTuple):
    """A parsed baseline spec: classifier, feature parts, and its two switches."""

    name: str
    features: str
    vad: bool  # features of the clips cut to their speech (Silero VAD)
    speaker_norm: bool  # each speaker's vectors standardised by its own clips (features/speaker_norm.py)


SPEC_FLAGS = ("vad", "spknorm")


def parse_baseline_spec(spec: str) -> BaselineSpec:
    """``name[:features][:vad][:spknorm]`` -> BaselineSpec; e.g. ``svm:stats+mfcc_mean+ge2e:vad:spknorm``."""
    name, *rest = spec.split(":")
    flags = set()
    while rest and rest[-1] in SPEC_FLAGS:
        flags.add(rest.pop())
    if len(rest) > 1:
        raise ConfigError(
            f"baseline spec {spec!r}: use NAME[:FEATURES][:vad][:spknorm], e.g. 'svm:stats+ge2e:vad:spknorm'"
        )
    return BaselineSpec(name, rest[0] if rest else DEFAULT_FEATURES, "vad" in flags, "spknorm" in flags)


def list_baselines() -> list[str]:
    return sorted(BASELINES)


def make_baseline(name: str) -> Pipeline:
    if name not in BASELINES:
        raise ConfigError(f"unknown baseline '{name}'; use one of {list_baselines()}")
    return make_pipeline(StandardScaler(), BASELINES[name]())


def check_features(spec: str) -> list[str]:
    names = spec.split("+")
    bad = [n for n in names if n not in FEATURES]
    if bad or not spec:
        raise ConfigError(
            f"unknown baseline feature(s) {bad or [spec]}; join any of {list(FEATURES)} with '+'"
        )
    return names


def pitch_statistics(raw: torch.Tensor, voiced_threshold: float = 0.5) -> torch.Tensor:
    """(B, 2, frames) CREPE cents + periodicity (0 past a clip's end) -> (B, 10) prosody statistics.

    Over the voiced frames (periodicity above the threshold): F0 mean, std, 10/50/90th percentiles and 10-90
    range in cents, mean absolute frame-to-frame F0 change; over the clip: periodicity mean and std, voiced
    share. A clip with no voiced frame gets zeros for the F0 entries."""
    out = []
    for cents, period in raw:
        valid = period > 0
        p = period[valid]
        voiced = cents[valid][p > voiced_threshold]
        if len(voiced) >= 2:
            q = torch.quantile(voiced, torch.tensor([0.1, 0.5, 0.9]))
            f0 = [voiced.mean(), voiced.std(), *q, q[2] - q[0], voiced.diff().abs().mean()]
        else:
            f0 = [torch.tensor(0.0)] * 7
        share = (p > voiced_threshold).float().mean() if len(p) else torch.tensor(0.0)
        out.append(
            torch.stack([*f0, p.mean() if len(p) else share, p.std() if len(p) > 1 else share * 0, share])
        )
    return torch.stack(out)


class VectorFeatures(torch.nn.Module):
    """Clip vectors from front-ends, one or several joined, for the scikit-learn baselines.

    The parts: ``stats`` (6 clip statistics), ``mfcc_mean`` (mean and std of 40 MFCCs over the real frames,
    80 values), ``clip_means`` (SER-FusionNet's 162 means), ``pitch`` (10 F0/periodicity statistics from CREPE
    tiny), ``ge2e`` (Resemblyzer's 256-d GE2E voice embedding).

    Args:
        spec (str, optional): Parts joined with ``+``. (Default: ``"stats+mfcc_mean"``)
        sample_rate (int, optional): Sample rate of the waveforms. (Default: ``16000``)

    Shape:
        - Input: ``wave`` ``(B, N)`` and ``lengths`` ``(B,)`` in samples (padding masked).
        - Output: ``(B, D)``, ``D`` the parts' sizes summed (86 for the default).

    Example:
        >>> VectorFeatures("stats+mfcc_mean")(torch.randn(2, 16000), torch.tensor([16000, 8000])).shape
        torch.Size([2, 86])
    """

    def __init__(self, spec: str = DEFAULT_FEATURES, sample_rate: int = 16000):
        super().__init__()
        from ..features import create_frontend

        self.names = check_features(spec)
        self.stats = create_frontend({"name": "clip_stats", "sample_rate": sample_rate})
        self.mfcc = create_frontend(
            {"name": "mfcc", "n_mfcc": 40, "normalize": None, "sample_rate": sample_rate}
        )
        self.means = create_frontend({"name": "clip_means", "sample_rate": sample_rate})
        if "pitch" in self.names:
            self.pitch = create_frontend(
                {"name": "crepe_pitch", "hop_length": PITCH_HOP, "cache": False, "sample_rate": sample_rate}
            )
        if "ge2e" in self.names:
            self.ge2e = create_frontend(
                {"name": "voice_embedding", "cache": False, "sample_rate": sample_rate}
            )

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        from ..features.pooled import masked_time_mean

        out = []
        for name in self.names:
            if name == "stats":
                out.append(self.stats(wave, lengths))
            elif name == "clip_means":
                out.append(self.means(wave, lengths))
            elif name == "pitch":
                out.append(pitch_statistics(self.pitch.raw(wave, lengths)))
            elif name == "ge2e":
                out.append(self.ge2e(wave, lengths))
            else:
                m = self.mfcc(wave, lengths)[:, 0]  # (B, 40, frames)
                mean = masked_time_mean(m, lengths, self.mfcc.hop_length)
                var = masked_time_mean((m - mean[..., None]) ** 2, lengths, self.mfcc.hop_length)
                out += [mean, var.sqrt()]
        return torch.cat(out, 1)


def _vector_cache(name: str, sample_rate: int):
    """Per-clip vectors of one feature, on disk beside the pretrained front-ends' caches: a CREPE or GE2E pass
    over a corpus is paid once, whatever the protocol, fold or feature combination asking for it."""
    import importlib.metadata

    from ..features.pretrained_cache import FeatureCache

    versions = {p: importlib.metadata.version(p) for p in ("torch", "torchaudio")}
    return FeatureCache(
        f"vector_{name}",
        {"name": name, "sample_rate": sample_rate, "pitch_hop": PITCH_HOP, "version": 1, **versions},
    )


def extract_features(dm, stage: str, features: str = DEFAULT_FEATURES, batch_size: int = 32):
    """(X, y, clips) for one stage of a set-up SERDataModule, from whole clips (padding masked).

    Each feature's per-clip vectors are cached on disk, keyed by the clip's audio
    (``WaveformCache.clip_key``, which names a VAD-trimmed view apart from the plain clip); only clips missing
    from the cache are computed."""
    from torch.utils.data import DataLoader, Subset

    ds = dm.datasets[stage]
    sr = dm.hparams.sample_rate
    check_features(features)  # unknown names fail before any audio is read
    keys = [clip_key(ds.cache, c) for c in ds.clips]
    whole = ClipDataset(ds.clips, ds.labels, ds.cache, crop="full", num_samples=ds.num_samples)
    columns = []
    for name in features.split("+"):
        store = _vector_cache(name, sr)
        found = {k: store.get(k) for k in keys}
        missing = [i for i, k in enumerate(keys) if found[k] is None]
        if missing:
            fx = VectorFeatures(name, sr).eval()
            missing.sort(
                key=lambda i: whole.cache[whole.clips[i].corpus].length(whole.clips[i].id)
            )  # little padding
            with torch.inference_mode():
                for batch in DataLoader(
                    Subset(whole, missing), batch_size=batch_size, collate_fn=pad_collate
                ):
                    for k, v in zip(batch["clip"], fx(batch["audio"], batch["lengths"]).numpy()):
                        store.put(k, v.astype(np.float32))
                        found[k] = v
        columns.append(np.stack([found[k] for k in keys]))
    return np.concatenate(columns, 1), np.asarray(ds.labels), ds.clips


def _fold_datamodule(protocol: str, fold: int, root: Optional[str], **data: Any):
    """One fold's ``SERDataModule``, set up for fitting, read in the main process (the feature baselines
    extract their vectors in one pass)."""
    from ..data.datamodule import SERDataModule

    dm = SERDataModule(root=root, protocol=protocol, fold=fold, num_workers=0, **data)
    dm.prepare_data()
    dm.setup("fit")
    return dm


def stage_vectors(
    protocol: str,
    fold: int,
    root: Optional[str],
    features: str,
    stages: Sequence[str] = ("train", "test"),
    classes: Optional[str] = None,
    vad_trim: bool = True,
) -> tuple[list[str], dict[str, tuple[np.ndarray, np.ndarray, list[str]]], list]:
    """(class names, {stage: (x, y, speakers)}, the test clips) of one fold: what a study of the feature
    baselines needs beside ``run_baseline`` (validation speakers too; speaker names for normalisation)."""
    dm = _fold_datamodule(protocol, fold, root, classes=classes, vad_trim=vad_trim)
    out = {}
    for stage in stages:
        x, y, clips = extract_features(dm, stage, features)
        out[stage] = (x, y, speakers_of(clips))
    return list(dm.class_names), out, dm.stage_clips("test")


def speakers_of(clips: Sequence) -> list[str]:
    return [c.speaker for c in clips]


def fit_speaker_normalizer(x: np.ndarray, clips: Sequence, speaker_norm: bool):
    """A ``SpeakerNormalizer`` fitted on the training clips' vectors when ``speaker_norm`` (``:spknorm``)."""
    from ..features.speaker_norm import SpeakerNormalizer

    return SpeakerNormalizer().fit(x, speakers_of(clips)) if speaker_norm else None


def by_speaker(x: np.ndarray, clips: Sequence, normalizer) -> np.ndarray:
    """``x`` normalised per speaker of ``clips`` (each by its own clips) by ``normalizer``, or ``x``."""
    return x if normalizer is None else normalizer.transform(x, speakers_of(clips))


def classification_metrics(pred: np.ndarray, target: np.ndarray, class_names: list[str]) -> dict[str, Any]:
    """WA / UA / macro-F1 / per-class recall / confusion matrix, with the LightningModule's definitions."""
    from torchmetrics.functional.classification import (
        multiclass_accuracy,
        multiclass_confusion_matrix,
        multiclass_f1_score,
        multiclass_recall,
    )

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
def _fold_features(
    protocol: str,
    fold: int,
    root: Optional[str],
    classes: Optional[str],
    features: str,
    limit_clips: Optional[int],
    vad_trim: bool = False,
    data_json: str = "{}",
):
    """The fold's training and test features (cached: an ensemble reads them once per baseline); ``data_json``
    holds more ``SERDataModule`` arguments as JSON, so the cache key stays hashable."""
    data = {"classes": classes, **json.loads(data_json)}
    dm = _fold_datamodule(protocol, fold, root, limit_clips=limit_clips, vad_trim=vad_trim, **data)
    return dm.class_names, extract_features(dm, "train", features), extract_features(dm, "test", features)


def run_baseline(
    name: str,
    protocol: str,
    fold: int,
    root: Optional[str] = None,
    classes: Optional[str] = None,
    features: str = DEFAULT_FEATURES,
    limit_clips: Optional[int] = None,
    vad_trim: bool = False,
    data: Optional[dict] = None,
    speaker_norm: bool = False,
) -> dict[str, Any]:
    """Fit baseline ``name`` on the fold's training speakers, test on its test speakers (``vad_trim``:
    features of the clips from first to last speech found by Silero VAD; ``data``: more ``SERDataModule``
    arguments, e.g. your own ``corpora``, ``label_map`` and ``folds``; ``speaker_norm``: each speaker's
    vectors standardised by its own clips' statistics, a test speaker's by its unlabelled test clips)."""
    pipe = make_baseline(name)
    check_features(features)  # a bad feature name fails before any audio is read
    class_names, (x_tr, y_tr, train_clips), (x_te, y_te, test_clips) = _fold_features(
        protocol, fold, root, classes, features, limit_clips, vad_trim, json.dumps(data or {}, sort_keys=True)
    )
    norm = fit_speaker_normalizer(x_tr, train_clips, speaker_norm)
    pipe.fit(by_speaker(x_tr, train_clips, norm), y_tr)
    result = classification_metrics(pipe.predict(by_speaker(x_te, test_clips, norm)), y_te, class_names)
    return {
        **result,
        "params": _fitted_size(pipe),
        "n_test": len(y_te),
        "n_train": len(y_tr),
        "test_speakers": " ".join(sorted({c.speaker for c in test_clips})),
        "features": features,
    }
