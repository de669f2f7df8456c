"""A speaker-normalised classifier that ships: clip vectors standardised per speaker, then a linear softmax
head.

The ``:spknorm`` baselines (``features/speaker_norm.py``) are ser-zoo's best answer to speech from an unheard
corpus (loco), but a scikit-learn pipeline is not a checkpoint. This is the same thing as a few arrays: the
training speakers' pooled within-speaker variance (the prior a speaker with few clips is shrunk toward) and a
multinomial logistic regression whose input scaler is folded into its weights. It classifies a *speaker's*
clips together, never one clip alone: each clip's vector is standardised by the mean and spread of the vectors
of every clip given for that speaker, so a speaker needs several clips (``MIN_SPEAKER_CLIPS``; ten or more of
mixed emotions work best). ``ser-zoo infer --model general6_spknorm`` groups files by folder or takes them all
as one voice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np
import torch

from ..errors import ConfigError
from ..features.speaker_norm import PRIOR_CLIPS, SpeakerNormalizer, speaker_standardize

#: Fewest clips a speaker must bring: 5 random enrolment clips already beat every per-clip model on loco,
#: 10 do clearly better (benchmarks/results/speaker_norm_loco.md).
MIN_SPEAKER_CLIPS = 5
ADVISED_SPEAKER_CLIPS = 10
KIND = "speaker_normalized"


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


class SpeakerNormalizedClassifier:
    """Linear softmax head on speaker-standardised clip vectors (``models.classical.VectorFeatures`` parts).

    Args:
        features (str): The vector parts joined with ``+``, e.g. ``"stats+mfcc_mean+pitch+ge2e"``.
        class_names (Sequence[str]): One name per output class.
        prior_variance (np.ndarray): ``(D,)`` training speakers' pooled within-speaker variance.
        weight (np.ndarray): ``(K, D)`` weights on the speaker-standardised vectors.
        bias (np.ndarray): ``(K,)`` biases.
        prior_clips (float, optional): Pseudo-clips of ``prior_variance`` in each speaker's variance.
            (Default: ``PRIOR_CLIPS``)
        sample_rate (int, optional): Sample rate the features expect. (Default: ``16000``)
        vad_trim (bool, optional): Clips are cut to their speech (Silero VAD) before the features, as in
            training. (Default: ``True``)

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.normal(size=(40, 3)), np.arange(40) % 2
        >>> m = SpeakerNormalizedClassifier.fit(x, y, ["a"] * 20 + ["b"] * 20, ["no", "yes"], "stats")
        >>> m.probabilities(x[:10], ["c"] * 10).shape
        (10, 2)
    """

    kind = KIND

    def __init__(
        self,
        features: str,
        class_names: Sequence[str],
        prior_variance: np.ndarray,
        weight: np.ndarray,
        bias: np.ndarray,
        prior_clips: float = PRIOR_CLIPS,
        sample_rate: int = 16000,
        vad_trim: bool = True,
    ):
        weight, bias = np.asarray(weight, np.float64), np.asarray(bias, np.float64)
        prior_variance = np.asarray(prior_variance, np.float64)
        if weight.shape != (len(class_names), len(prior_variance)) or bias.shape != (len(class_names),):
            raise ConfigError(
                f"speaker-normalised classifier: weight {weight.shape}, bias {bias.shape} and prior variance "
                f"{prior_variance.shape} do not fit {len(class_names)} classes"
            )
        self.features, self.class_names = features, list(class_names)
        self.prior_variance, self.weight, self.bias = prior_variance, weight, bias
        self.prior_clips, self.sample_rate, self.vad_trim = float(prior_clips), sample_rate, vad_trim
        self.card: dict[str, Any] = {}
        self._vectors = None  # VectorFeatures, built on first use (CREPE and GE2E load their weights then)

    @classmethod
    def fit(
        cls,
        x: np.ndarray,
        y: np.ndarray,
        speakers: Sequence[str],
        class_names: Sequence[str],
        features: str,
        C: float = 1.0,
        prior_clips: float = PRIOR_CLIPS,
        **kwargs,
    ) -> "SpeakerNormalizedClassifier":
        """Fitted on labelled clip vectors of several speakers (the ``logreg`` baseline's settings, C = 1):
        each speaker standardised by its own clips, then ``StandardScaler`` + logistic regression, the scaler
        folded into the weights."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        norm = SpeakerNormalizer(prior_clips).fit(x, speakers)
        z = norm.transform(x, speakers)
        scaler = StandardScaler().fit(z)
        clf = LogisticRegression(max_iter=3000, C=C).fit(scaler.transform(z), y)
        if list(clf.classes_) != list(range(len(class_names))):
            raise ConfigError(
                f"speaker-normalised classifier: labels {clf.classes_.tolist()} do not cover the "
                f"{len(class_names)} classes {list(class_names)}; every class needs training clips"
            )
        coef, intercept = clf.coef_, clf.intercept_
        if len(class_names) == 2:  # scikit-learn keeps one row, class 1's: softmax([0, z]) = sigmoid(z)
            coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
        weight = coef / scaler.scale_
        bias = intercept - weight @ scaler.mean_
        return cls(features, class_names, norm.prior_variance, weight, bias, prior_clips, **kwargs)

    @property
    def num_params(self) -> int:
        return int(self.weight.size + self.bias.size + self.prior_variance.size)

    def probabilities(
        self, x: np.ndarray, speakers: Sequence[str], reference: Optional[np.ndarray] = None
    ) -> np.ndarray:
        """``(N, K)`` class probabilities of raw clip vectors ``x``, each standardised by its speaker's
        ``reference`` rows (every row of that speaker when omitted)."""
        z = speaker_standardize(x, speakers, reference, self.prior_variance, self.prior_clips)
        return _softmax(z @ self.weight.T + self.bias)

    @torch.no_grad()
    def vectors(self, waves: Sequence[np.ndarray], batch_size: int = 16, trimmed: bool = False) -> np.ndarray:
        """``(N, D)`` clip vectors of mono waveforms at ``sample_rate``, cut to their speech first when the
        classifier was trained so (unless ``trimmed``: already cut); whole clips, padding masked, as the bench
        computes them."""
        from ..audio import pad_waves
        from ..data.vad import trim_to_speech
        from .classical import VectorFeatures

        if self._vectors is None:
            self._vectors = VectorFeatures(self.features, self.sample_rate).eval()
        waves = [np.asarray(w, np.float32) for w in waves]
        if self.vad_trim and not trimmed:
            waves = trim_to_speech(waves, self.sample_rate)
        order = np.argsort([len(w) for w in waves])  # similar lengths together: little padding
        out = np.empty((len(waves), len(self.prior_variance)), np.float64)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._vectors(*pad_waves([waves[i] for i in rows])).double().numpy()
        return out

    def predict_speaker(
        self, audio: Sequence[Union[str, Path, np.ndarray]], batch_size: int = 16
    ) -> list[dict[str, Any]]:
        """``{"label", "prob", "probs"}`` for each clip of ONE speaker (files, or waveforms at
        ``sample_rate``), every clip standardised by the statistics of all of them."""
        from ..audio import load_audio

        if len(audio) < MIN_SPEAKER_CLIPS:
            raise ConfigError(
                f"speaker normalisation: {len(audio)} clip(s) of the speaker; give at least "
                f"{MIN_SPEAKER_CLIPS} ({ADVISED_SPEAKER_CLIPS} or more of mixed emotions work best)"
            )
        waves = [
            load_audio(a, self.sample_rate) if isinstance(a, (str, Path)) else np.asarray(a, np.float32)
            for a in audio
        ]
        probs = self.probabilities(self.vectors(waves, batch_size), ["speaker"] * len(waves))
        return [self.row(p) for p in probs]

    def row(self, p: np.ndarray) -> dict[str, Any]:
        """One clip's result, shaped as every other model's in ``infer``."""
        return {
            "label": self.class_names[int(p.argmax())],
            "prob": float(p.max()),
            "probs": dict(zip(self.class_names, map(float, p))),
        }

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The arrays a zoo checkpoint stores (float32)."""
        arrays = {"prior_variance": self.prior_variance, "weight": self.weight, "bias": self.bias}
        return {k: torch.from_numpy(np.ascontiguousarray(v)).float() for k, v in arrays.items()}

    def config(self) -> dict[str, Any]:
        """What, beside ``state_dict``, rebuilds it (the zoo card's fields)."""
        return {
            "kind": KIND,
            "model": "logreg",
            "features": self.features,
            "class_names": self.class_names,
            "prior_clips": self.prior_clips,
            "sample_rate": self.sample_rate,
            "vad_trim": self.vad_trim,
            "min_speaker_clips": MIN_SPEAKER_CLIPS,
        }

    @classmethod
    def from_state(
        cls, state: dict[str, torch.Tensor], card: dict[str, Any]
    ) -> "SpeakerNormalizedClassifier":
        model = cls(
            card["features"],
            card["class_names"],
            state["prior_variance"].double().numpy(),
            state["weight"].double().numpy(),
            state["bias"].double().numpy(),
            card.get("prior_clips", PRIOR_CLIPS),
            card.get("sample_rate", 16000),
            bool(card.get("vad_trim", True)),
        )
        model.card = card
        return model


def is_speaker_normalized(card_or_model: Any) -> bool:
    """True for a speaker-normalised card (dict) or model."""
    if isinstance(card_or_model, dict):
        return card_or_model.get("kind") == KIND
    return getattr(card_or_model, "kind", None) == KIND
