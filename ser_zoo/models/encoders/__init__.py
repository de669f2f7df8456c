"""Pretrained speech encoders (wav2vec 2.0, HuBERT, WavLM, Whisper) as zoo models; importing this package
registers them.

``zoo`` names them, ``loading`` reads their weights, ``ssl`` and ``whisper`` run the encoders, ``head`` is the
SUPERB head, ``classifier`` joins them (with the per-clip cache), ``finetune`` groups parameters for
layer-wise learning-rate decay.
"""

from . import zoo  # noqa: F401  (registers the encoders)
from .classifier import EncoderClassifier
from .finetune import optimizer_groups
from .zoo import ENCODERS

__all__ = ["ENCODERS", "EncoderClassifier", "optimizer_groups"]
