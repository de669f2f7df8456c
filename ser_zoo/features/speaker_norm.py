"""Speaker normalisation: standardise each speaker's clip vectors with that speaker's own statistics.

Acted corpora differ more in their speakers and channels than in how their actors portray an emotion, so a
classifier trained on three corpora meets the fourth's speakers far from anything it saw. Subtracting each
speaker's mean feature vector and dividing by its standard deviation (Schuller et al. 2010, "Cross-corpus
acoustic emotion recognition: variances and strategies": speaker normalisation) leaves what varies *within* a
speaker, which is where emotion lives. It uses no labels, and no clip of any other speaker, so folds stay
speaker-independent. But it does need several clips of a speaker before it classifies one: at inference, the
speaker's unlabelled clips (or a few enrolment clips, ``reference``), ideally covering a mix of emotions.

A variance from a handful of clips is noisy, and dividing by it amplifies the noise: ``prior_clips`` shrinks
each speaker's variance toward the training speakers' pooled within-speaker variance, as if that many more
clips had been seen (benchmarks/results/speaker_norm_loco.md measures it with 5 to 20 enrolment clips).
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ..errors import ConfigError

#: Pseudo-clips of pooled variance added to each speaker's own: 20 won over 0 and 5 on loco's validation
#: speakers (benchmarks/results/speaker_norm_loco.md).
PRIOR_CLIPS = 20.0


def _groups(x: np.ndarray, speakers: Sequence[str], reference: Optional[np.ndarray]):
    """(x as float64, [(speaker's rows, its reference rows' vectors)]) after checking the shapes."""
    x = np.asarray(x, dtype=np.float64)
    speakers = np.asarray(speakers)
    if len(speakers) != len(x):
        raise ConfigError(f"speaker normalisation: {len(x)} clip vectors but {len(speakers)} speaker names")
    reference = np.ones(len(x), bool) if reference is None else np.asarray(reference, bool)
    return x, [(s, speakers == s, x[(speakers == s) & reference]) for s in np.unique(speakers)]


def _too_few(speaker: str, n: int, need: int) -> ConfigError:
    return ConfigError(
        f"speaker normalisation: speaker '{speaker}' has {n} reference clip(s); it needs at least {need} "
        "(ten or more of mixed emotions work best), or drop ':spknorm'"
    )


def pooled_speaker_variance(x: np.ndarray, speakers: Sequence[str]) -> np.ndarray:
    """``(D,)`` mean over speakers of each speaker's feature variance: how much a feature moves within one
    voice, the prior that a speaker with few clips is shrunk toward."""
    x, groups = _groups(x, speakers, None)
    for speaker, _, ref in groups:
        if len(ref) < 2:
            raise _too_few(speaker, len(ref), 2)
    return np.mean([ref.var(0) for _, _, ref in groups], 0)


def speaker_standardize(
    x: np.ndarray,
    speakers: Sequence[str],
    reference: Optional[np.ndarray] = None,
    prior_variance: Optional[np.ndarray] = None,
    prior_clips: float = 0.0,
    eps: float = 1e-6,
) -> np.ndarray:
    """Each row of ``x`` standardised by the mean and standard deviation of its speaker's reference rows.

    Args:
        x (np.ndarray): ``(N, D)`` clip vectors.
        speakers (Sequence[str]): The speaker of each row, ``N`` names.
        reference (np.ndarray, optional): ``(N,)`` booleans, the rows whose statistics normalise their
            speaker's rows (say, a few enrolment clips); every row when omitted. (Default: ``None``)
        prior_variance (np.ndarray, optional): ``(D,)`` variance each speaker's is shrunk toward
            (``pooled_speaker_variance`` of the training speakers). (Default: ``None``)
        prior_clips (float, optional): Weight of ``prior_variance``, in clips: a speaker's variance becomes
            ``(n * own + prior_clips * prior) / (n + prior_clips)``. 0 uses its own alone. (Default: ``0.0``)
        eps (float, optional): Added to each standard deviation, so a constant feature maps to zero.
            (Default: ``1e-6``)

    Returns:
        np.ndarray: ``(N, D)`` float array; ``x`` is left unchanged.

    Raises:
        ConfigError: a speaker has too few reference rows: two without a prior (no spread to divide by), one
            with it.
    """
    shrink = prior_variance is not None and prior_clips > 0
    x, groups = _groups(x, speakers, reference)
    out = np.empty_like(x)
    for speaker, rows, ref in groups:
        n = len(ref)
        if n < (1 if shrink else 2):
            raise _too_few(speaker, n, 1 if shrink else 2)
        var = ref.var(0)
        if shrink:
            var = (n * var + prior_clips * np.asarray(prior_variance)) / (n + prior_clips)
        out[rows] = (x[rows] - ref.mean(0)) / (np.sqrt(var) + eps)
    return out


class SpeakerNormalizer:
    """Speaker normalisation fitted on training speakers (their pooled within-speaker variance is the prior),
    then applied to any speakers' clip vectors, each set by its own clips.

    Args:
        prior_clips (float, optional): Pseudo-clips of the training speakers' pooled variance added to each
            speaker's own; 0 is plain per-speaker standardisation. (Default: ``PRIOR_CLIPS``)

    Example:
        >>> x = np.random.default_rng(0).normal(size=(40, 3))
        >>> spk = ["a"] * 20 + ["b"] * 20
        >>> SpeakerNormalizer().fit(x, spk).transform(x, spk).shape
        (40, 3)
    """

    def __init__(self, prior_clips: float = PRIOR_CLIPS):
        self.prior_clips = prior_clips
        self.prior_variance: Optional[np.ndarray] = None

    def fit(self, x: np.ndarray, speakers: Sequence[str]) -> "SpeakerNormalizer":
        self.prior_variance = pooled_speaker_variance(x, speakers)
        return self

    def transform(
        self, x: np.ndarray, speakers: Sequence[str], reference: Optional[np.ndarray] = None
    ) -> np.ndarray:
        if self.prior_variance is None and self.prior_clips > 0:
            raise ConfigError("SpeakerNormalizer: call fit() on the training speakers' vectors first")
        return speaker_standardize(x, speakers, reference, self.prior_variance, self.prior_clips)
