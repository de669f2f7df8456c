"""Ensembles of trained zoo members: probability averaging, stacking, selection.

The CREMA-D CNN study names an ensemble of its models as the next step. Members are SERModules with their own
front-ends, or scikit-learn baselines on clip vectors (``BaselineMember``, fitted on the fold's training
speakers); all must predict the same class list. The stacker is a logistic regression over the members'
concatenated probabilities, fitted on the VALIDATION speakers of the fold (never the test speakers), then
applied to the test stage.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from torch import Tensor, nn

from ..errors import ConfigError
from ..zoo import load_pretrained
from .network import load_network
from .speaker_normalized import is_speaker_normalized


def load_members(paths: Sequence[str]) -> list[nn.Module]:
    """``SERNet``s from ``ser-zoo fit`` checkpoints (.ckpt) or zoo checkpoints (names / .safetensors)."""
    members = [load_network(p) if str(p).endswith(".ckpt") else load_pretrained(str(p)) for p in paths]
    for p, m in zip(paths, members):
        if is_speaker_normalized(m):  # it reads a speaker's clips together, never one clip
            raise ConfigError(
                f"ensemble member {p}: a speaker-normalised classifier, not a network; ensemble networks, "
                "or bench the feature baseline with ':spknorm' (e.g. logreg:stats+ge2e:vad:spknorm)"
            )
    return members


class AveragingEnsemble(nn.Module):
    """Weighted mean of the members' class probabilities.

    Args:
        members (sequence of nn.Module): Models that map ``(wave, lengths, **extra)`` to logits and carry
            ``class_names``; all must name the same classes.
        weights (sequence of float or None, optional): Non-negative member weights, normalised to sum to 1;
            equal weights if None. (Default: ``None``)

    Shape:
        - Input: ``wave`` ``(B, N)``, optional ``lengths`` ``(B,)`` in samples and any extra batch inputs.
        - Output: ``(B, classes)`` probabilities (not logits).

    Example:
        >>> members = load_members(["resnet18.ckpt", "mfcc_cnn.ckpt"])  # doctest: +SKIP
        >>> AveragingEnsemble(members)(torch.randn(2, 48000)).shape  # doctest: +SKIP
        torch.Size([2, 8])
    """

    def __init__(self, members: Sequence[nn.Module], weights: Optional[Sequence[float]] = None):
        super().__init__()
        if not members:
            raise ConfigError("an ensemble needs at least one member")
        names = [list(m.class_names) for m in members]
        if any(n != names[0] for n in names):
            raise ConfigError(
                f"ensemble members predict different classes: {names}; use members trained on one class set"
            )
        self.members, self.class_names = nn.ModuleList(members), names[0]
        w = torch.ones(len(members)) if weights is None else torch.as_tensor(weights, dtype=torch.float32)
        if len(w) != len(members) or (w < 0).any() or w.sum() <= 0:
            raise ConfigError(
                f"ensemble weights {list(map(float, w))} must be {len(members)} non-negative numbers"
            )
        self.register_buffer("weights", w / w.sum(), persistent=False)

    def member_probs(self, wave: Tensor, lengths: Optional[Tensor] = None, **extra: Tensor) -> Tensor:
        """(members, B, classes) probabilities, each through its member's temperature (1 unless the member was
        calibrated with ``ser-zoo calibrate``), so a confident but miscalibrated member does not outvote."""
        return torch.stack([calibrated_probs(m, wave, lengths, **extra) for m in self.members])

    def forward(self, wave: Tensor, lengths: Optional[Tensor] = None, **extra: Tensor) -> Tensor:
        return torch.einsum("m,mbc->bc", self.weights, self.member_probs(wave, lengths, **extra))


def calibrated_probs(
    model: nn.Module, wave: Tensor, lengths: Optional[Tensor] = None, **extra: Tensor
) -> Tensor:
    """softmax(logits / the model's temperature), as ``predict`` gives them."""
    return (model(wave, lengths, **extra).float() / getattr(model, "temperature", 1.0)).softmax(-1)


@torch.no_grad()
def collect_probs(model: nn.Module, dm, stage: str) -> tuple[np.ndarray, np.ndarray, list]:
    """(probabilities or member probabilities, labels, clips) over one stage of a set-up data module."""
    probs, labels = [], []
    loader = getattr(dm, f"{stage}_dataloader")()
    fn = (
        model.member_probs
        if isinstance(model, AveragingEnsemble)
        else (lambda *a, **k: calibrated_probs(model, *a, **k))
    )
    for batch in loader:
        probs.append(fn(batch["audio"], batch["lengths"], gender=batch["gender"]).cpu())
        labels.append(batch["label"])
    axis = 1 if isinstance(model, AveragingEnsemble) else 0
    return torch.cat(probs, axis).numpy(), torch.cat(labels).numpy(), dm.stage_clips(stage)


class StackedEnsemble:
    """Logistic regression over member probabilities, fitted on validation speakers only."""

    def __init__(self, members: Sequence[nn.Module], C: float = 1.0):
        self.base = AveragingEnsemble(members).eval()
        self.class_names = self.base.class_names
        self.stacker = _new_stacker(C)
        self.fitted_on: list = []

    @staticmethod
    def _flat(member_probs: np.ndarray) -> np.ndarray:
        return np.concatenate(list(member_probs), axis=1)  # (B, members * classes)

    def fit(self, dm) -> "StackedEnsemble":
        probs, labels, clips = collect_probs(self.base, dm, "val")
        self.stacker.fit(self._flat(probs), labels)
        self.fitted_on = list(clips)
        return self

    def predict_proba(self, member_probs: np.ndarray) -> np.ndarray:
        return _stack_proba(self.stacker, member_probs, len(self.class_names))


#: ensemble_table's rows for the members combined, by kind (the rows of the members alone come first)
COMBINED_ROWS = {
    "average": "average of members",
    "stack": "stacked (logreg fitted on val speakers)",
    "select": "ensemble selection (weights from val-speaker UA)",
}


def ensemble_selection(
    val_probs: Sequence[np.ndarray], val_labels: np.ndarray, rounds: int = 20
) -> np.ndarray:
    """Member weights by ensemble selection (Caruana et al., ICML 2004).

    ``rounds`` times, add (with replacement) the member whose addition most raises UA on the validation
    speakers; a member's weight is the share of picks. A tie goes to the earlier member. Reads validation
    speakers only, so it is a model choice, never a test-fold fit."""
    from sklearn.metrics import balanced_accuracy_score

    counts, total = np.zeros(len(val_probs)), np.zeros_like(val_probs[0])
    for _ in range(rounds):
        scores = [balanced_accuracy_score(val_labels, (total + p).argmax(1)) for p in val_probs]
        best = int(np.argmax(scores))
        counts[best] += 1
        total = total + val_probs[best]
    return counts / counts.sum()


def _new_stacker(C: float = 1.0) -> LogisticRegression:
    """The stacking classifier over concatenated member probabilities (fitted on validation speakers)."""
    return LogisticRegression(C=C, max_iter=2000)


def _stack_proba(stacker: LogisticRegression, member_probs, num_classes: int) -> np.ndarray:
    """The stacker's probabilities over all classes (a class absent from the validation speakers gets 0)."""
    flat = StackedEnsemble._flat(member_probs)
    out = np.zeros((len(flat), num_classes))
    out[:, stacker.classes_] = stacker.predict_proba(flat)
    return out


class BaselineMember:
    """A ``ser-zoo bench`` baseline spec (``svm:stats+ge2e:vad``) as an ensemble member beside deep models.

    Fitted on the fold's training speakers only, so its validation probabilities are as honest as a deep
    member's and a stacker fitted on validation speakers can weigh it; probabilities are lined up with any
    clip list by corpus and clip id (its own data module may read VAD-trimmed clips)."""

    def __init__(
        self,
        spec: str,
        protocol: str,
        fold: int,
        classes: Optional[str] = None,
        root: Optional[str] = None,
        limit_clips: Optional[int] = None,
    ):
        from ..data.datamodule import SERDataModule
        from .classical import check_features, make_baseline, parse_baseline_spec

        name, self.features, vad, self.speaker_norm = parse_baseline_spec(spec)
        self.normalizer = None  # fitted with the classifier when speaker_norm
        check_features(self.features)
        self.spec, self.pipe = spec, make_baseline(name)
        if not hasattr(self.pipe[-1], "predict_proba"):  # SVC: Platt-scaled, as scikit-learn recommends
            self.pipe.steps[-1] = (
                self.pipe.steps[-1][0],
                CalibratedClassifierCV(self.pipe[-1], ensemble=False),
            )
        self.dm = SERDataModule(
            root=root,
            protocol=protocol,
            fold=fold,
            classes=classes,
            limit_clips=limit_clips,
            num_workers=0,
            vad_trim=vad,
        )
        self.dm.prepare_data()
        self.dm.setup("fit")
        self.class_names = list(self.dm.class_names)

    def fit(self) -> "BaselineMember":
        from .classical import by_speaker, extract_features, fit_speaker_normalizer

        x, y, own = extract_features(self.dm, "train", self.features)
        self.normalizer = fit_speaker_normalizer(x, own, self.speaker_norm)
        self.pipe.fit(by_speaker(x, own, self.normalizer), y)
        return self

    def probs(self, stage: str, clips: Sequence) -> np.ndarray:
        """(len(clips), classes) probabilities, row i for ``clips[i]``."""
        from .classical import by_speaker, extract_features

        x, _, own = extract_features(self.dm, stage, self.features)
        p = np.zeros((len(own), len(self.class_names)))
        p[:, self.pipe.classes_] = self.pipe.predict_proba(by_speaker(x, own, self.normalizer))
        row = {(c.corpus, c.id): i for i, c in enumerate(own)}
        missing = [c.id for c in clips if (c.corpus, c.id) not in row]
        if missing:
            raise ConfigError(
                f"baseline member '{self.spec}' has no {stage} clip {missing[0]} (and "
                f"{len(missing) - 1} more); build it on the same protocol, fold and classes"
            )
        return p[[row[(c.corpus, c.id)] for c in clips]]


def ensemble_table(
    members: Sequence[tuple[str, object]], dm, member_dms: Optional[Sequence[object]] = None
) -> list[tuple[str, dict]]:
    """Test metrics of each member alone, of their probability average, of a logistic-regression stack fitted
    on the validation speakers, and of a weighted average whose weights ensemble selection picks on the
    validation speakers (its row carries ``weights``); members are (name, SERModule or BaselineMember) on one
    set-up data module.

    ``member_dms`` (in member order; an entry that is None or missing means ``dm``) lets each deep member read
    the fold at its own crop length, as it was trained and benched; each must hold the same validation and
    test clips, in the same order, as ``dm``. Baseline members always line up with ``dm``'s clips."""
    from .classical import classification_metrics

    names = [list(m.class_names) for _, m in members]
    if not members or any(n != list(dm.class_names) for n in names):
        raise ConfigError(
            f"ensemble members predict {names}, the fold gives {list(dm.class_names)}; use members "
            "trained on the fold's class set"
        )
    member_dms = list(member_dms or [])
    member_dms = [
        dm if own is None else own for own in member_dms + [None] * (len(members) - len(member_dms))
    ]

    def stage_probs(m, own_dm, stage: str) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(m, BaselineMember):
            return m.probs(stage, dm.stage_clips(stage)), np.asarray(dm.datasets[stage].labels)
        if own_dm is not dm and [c.id for c in own_dm.stage_clips(stage)] != [
            c.id for c in dm.stage_clips(stage)
        ]:
            raise ConfigError(
                f"a member's data module gives other {stage} clips than the ensemble's; build it on the "
                "same protocol, fold, classes and clip limit"
            )
        return collect_probs(m.eval(), own_dm, stage)[:2]

    probs, labels = {"val": [], "test": []}, {}
    for (_, m), own_dm in zip(members, member_dms):
        if isinstance(m, BaselineMember):
            m.fit()
        for stage in probs:
            p, labels[stage] = stage_probs(m, own_dm, stage)
            probs[stage].append(p)

    def score(p: np.ndarray) -> dict:
        return {
            **classification_metrics(p.argmax(1), labels["test"], names[0]),
            "n_test": len(labels["test"]),
        }

    rows = [(name, score(p)) for (name, _), p in zip(members, probs["test"])]
    rows.append((COMBINED_ROWS["average"], score(np.mean(probs["test"], 0))))
    stacker = _new_stacker().fit(StackedEnsemble._flat(probs["val"]), labels["val"])
    rows.append((COMBINED_ROWS["stack"], score(_stack_proba(stacker, probs["test"], len(names[0])))))
    weights = ensemble_selection(probs["val"], labels["val"])
    rows.append(
        (
            COMBINED_ROWS["select"],
            {
                **score(np.tensordot(weights, np.asarray(probs["test"]), 1)),
                "weights": weights.round(3).tolist(),
            },
        )
    )
    return rows


def evaluate(model, dm, stage: str = "test") -> dict:
    """The baselines' metric dict (WA, UA, F1, recall, confusion) and the predicted class per clip, for a
    module, an average or a stack."""
    from .classical import classification_metrics

    if isinstance(model, StackedEnsemble):
        member_probs, labels, clips = collect_probs(model.base, dm, stage)
        probs = model.predict_proba(member_probs)
    else:
        model.eval()
        probs, labels, clips = collect_probs(model, dm, stage)
        if isinstance(model, AveragingEnsemble):
            probs = np.einsum("m,mbc->bc", model.weights.numpy(), probs)
    pred = probs.argmax(1)
    out = classification_metrics(pred, labels, list(model.class_names))
    out["n_test"] = len(labels)
    out["predictions"] = pred.tolist()  # per clip, in the stage's order
    return out
